using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Cloudflare.Emulation.Seeding;

/// <summary>
/// Loads generated data into one account through its own API (batches of up to 100 records, then
/// the documents as real uploads), so every record passes the same validation a user's would.
/// </summary>
public sealed class SeedLoader(HttpClient http, Uri accountApiBase, string bearerToken)
{
    private const int BatchSize = 100;
    private const int ParallelUploads = 4;

    /// <summary>Loads everything; returns the ids the API assigned, per entity, in generation order.</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> LoadAsync(SeedData data, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var ids = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var (entity, records) in data.Entities)
        {
            var created = new List<string>(records.Count);
            foreach (var chunk in records.Chunk(BatchSize))
            {
                var items = chunk.Select(r => Resolve(r, ids)).ToList();
                using var request = Request(HttpMethod.Post, $"api/{entity}/batch", JsonContent.Create(new { items }));
                using var response = await http.SendAsync(request, cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException($"Seeding {entity} failed: {(int)response.StatusCode} {body}");
                }
                created.AddRange(JsonDocument.Parse(body).RootElement.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()!));
            }
            ids[entity] = created;
            progress?.Report($"{entity}: {created.Count}");
        }

        var documents = new string[data.Documents.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, data.Documents.Count),
            new ParallelOptions { MaxDegreeOfParallelism = ParallelUploads, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var document = data.Documents[i];
                var query = $"name={Uri.EscapeDataString(document.Name)}&clientId={ids["clients"][document.ClientIndex]}&caseId={ids["cases"][document.CaseIndex]}";
                var content = new ByteArrayContent(document.Bytes);
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(document.ContentType);
                using var request = Request(HttpMethod.Post, $"api/documents?{query}", content);
                using var response = await http.SendAsync(request, ct);
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException($"Seeding document {document.Name} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                }
                documents[i] = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
            });
        ids["documents"] = documents;
        progress?.Report($"documents: {documents.Length}");
        return ids;
    }

    private HttpRequestMessage Request(HttpMethod method, string path, HttpContent content)
    {
        var request = new HttpRequestMessage(method, new Uri(accountApiBase, path)) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        return request;
    }

    private static Dictionary<string, object?> Resolve(SeedRecord record, IReadOnlyDictionary<string, IReadOnlyList<string>> ids)
    {
        var fields = new Dictionary<string, object?>(record.Fields);
        foreach (var (field, reference) in record.References ?? new Dictionary<string, SeedReference>())
        {
            fields[field] = ids[reference.Entity][reference.Index];
        }
        return fields;
    }
}
