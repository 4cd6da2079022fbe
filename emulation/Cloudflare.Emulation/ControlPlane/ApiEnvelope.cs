using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>An error in Cloudflare's v4 shape.</summary>
public sealed record ApiError(int Code, string Message);

/// <summary>Cloudflare's v4 response envelope: success, errors, messages, result (and a list's result_info).</summary>
public sealed record ApiEnvelope(
    bool Success,
    IReadOnlyList<ApiError> Errors,
    IReadOnlyList<string> Messages,
    object? Result,
    [property: JsonPropertyName("result_info"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] object? ResultInfo = null);

/// <summary>Where a page of a list is, as Cloudflare's paged lists say it.</summary>
public sealed record ResultInfo(
    [property: JsonPropertyName("page")] int Page,
    [property: JsonPropertyName("per_page")] int PerPage,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("total_count")] int TotalCount,
    [property: JsonPropertyName("total_pages")] int TotalPages);

/// <summary>Where a cursor-paged list (KV keys) is: the page's size and the cursor of the next page ("" after the last).</summary>
public sealed record CursorInfo(
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("cursor")] string Cursor);

/// <summary>
/// Responses in Cloudflare's envelope. Error codes follow Cloudflare's families where we know them
/// (10000 authentication, 7003 unknown object, 7400 bad request, 10006/7502 already exists,
/// 10008 bucket not empty); the exact numbers of every Cloudflare product are not reproduced.
/// </summary>
public static class Api
{
    public const int AuthenticationError = 10000;
    public const int UnknownObject = 7003;
    public const int BadRequest = 7400;
    public const int AlreadyExists = 10006;
    public const int InUse = 10009;
    public const int NotEmpty = 10008;
    public const int NotServing = 7500;
    /// <summary>The emulator's own: refused by the harness's residency policy (not a Cloudflare code).</summary>
    public const int ResidencyPolicy = 7451;

    /// <summary>How long a request to a stack that is reloading waits for it before it counts as not serving.</summary>
    public static readonly TimeSpan ReloadWait = TimeSpan.FromSeconds(5);

    public static IResult Ok(object? result, int status = StatusCodes.Status200OK) =>
        Results.Json(new ApiEnvelope(true, [], [], result), statusCode: status);

    public static IResult Error(int status, int code, string message) =>
        Results.Json(new ApiEnvelope(false, [new ApiError(code, message)], [], null), statusCode: status);

    /// <summary>A list paged by cursor, with its result_info.</summary>
    public static IResult CursorPage(object items, int count, string cursor) =>
        Results.Json(new ApiEnvelope(true, [], [], items, new CursorInfo(count, cursor)));

    public static IResult NotFound(string what) => Error(StatusCodes.Status404NotFound, UnknownObject, $"{what} not found");

    public static IResult Invalid(string message) => Error(StatusCodes.Status400BadRequest, BadRequest, message);

    /// <summary>
    /// One page of <paramref name="all"/> (query <c>page</c>, from 1, and <c>per_page</c>) with its
    /// result_info. A page past the end is empty, so a client paging until a short page stops.
    /// </summary>
    public static IResult Paged<T>(IReadOnlyList<T> all, HttpRequest request, int defaultPerPage, int maxPerPage)
    {
        if (QueryNumber(request, "page", 1, 1, int.MaxValue) is not { } page)
        {
            return Invalid("page: a page number, 1 or more");
        }
        if (QueryNumber(request, "per_page", defaultPerPage, 1, maxPerPage) is not { } perPage)
        {
            return Invalid($"per_page: a page size from 1 to {maxPerPage}");
        }
        var items = all.Skip((int)Math.Min((page - 1L) * perPage, int.MaxValue)).Take(perPage).ToList();
        var info = new ResultInfo(page, perPage, items.Count, all.Count, (all.Count + perPage - 1) / perPage);
        return Results.Json(new ApiEnvelope(true, [], [], items, info));
    }

    /// <summary>A whole-number query parameter within bounds (its default when absent), or null.</summary>
    private static int? QueryNumber(HttpRequest request, string name, int fallback, int min, int max)
    {
        if (!request.Query.TryGetValue(name, out var values))
        {
            return fallback;
        }
        return int.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value : null;
    }
}
