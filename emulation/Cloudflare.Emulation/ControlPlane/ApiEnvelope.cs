using Microsoft.AspNetCore.Http;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>An error in Cloudflare's v4 shape.</summary>
public sealed record ApiError(int Code, string Message);

/// <summary>Cloudflare's v4 response envelope: success, errors, messages, result.</summary>
public sealed record ApiEnvelope(bool Success, IReadOnlyList<ApiError> Errors, IReadOnlyList<string> Messages, object? Result);

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

    public static IResult NotFound(string what) => Error(StatusCodes.Status404NotFound, UnknownObject, $"{what} not found");

    public static IResult Invalid(string message) => Error(StatusCodes.Status400BadRequest, BadRequest, message);
}
