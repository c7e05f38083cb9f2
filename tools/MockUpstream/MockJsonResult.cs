using System.Text.Json;

namespace Gateway.Aspire.MockUpstream;

/// <summary>A JSON response written straight into the response pipe with a <see cref="Utf8JsonWriter"/>.</summary>
/// <param name="status">The HTTP status.</param>
/// <param name="write">Writes exactly one JSON value.</param>
internal sealed class MockJsonResult(int status, Action<Utf8JsonWriter> write) : IResult
{
    public async Task ExecuteAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(response.BodyWriter, MockJson.WriterOptions))
        {
            write(json);
            json.Flush();
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted);
    }
}
