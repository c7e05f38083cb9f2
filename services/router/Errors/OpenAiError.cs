using System.Text.Json;

namespace Gateway.Aspire.Router.Errors;

/// <summary>
/// Errors in OpenAI's shape, <c>{"error":{"message","type","code","param"}}</c>, so that every
/// OpenAI SDK surfaces them the way it surfaces OpenAI's own.
/// </summary>
public static class OpenAiError
{
    /// <summary>OpenAI's <c>type</c> for a malformed request (400, 404, 413).</summary>
    public const string InvalidRequest = "invalid_request_error";

    /// <summary>Type for a bad or missing key (401).</summary>
    public const string Authentication = "authentication_error";

    /// <summary>Type for a denied model (403).</summary>
    public const string Permission = "permission_error";

    /// <summary>Type for rate limits (429).</summary>
    public const string RateLimit = "rate_limit_error";

    /// <summary>Type for failures of the upstream provider (502, 504).</summary>
    public const string Upstream = "upstream_error";

    /// <summary>Type for a gateway service that is unavailable (503).</summary>
    public const string ServiceUnavailable = "service_unavailable";

    /// <summary>An error as an endpoint result.</summary>
    public static IResult Result(int status, string type, string? code, string message, string? param = null) =>
        TypedResults.Json(Envelope(type, code, message, param), RouterJsonContext.Web.OpenAiErrorEnvelope, statusCode: status);

    /// <summary>Writes an error to a response that has not started.</summary>
    public static Task WriteAsync(HttpResponse response, int status, string type, string? code, string message, string? param = null)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(response.Body, Envelope(type, code, message, param), RouterJsonContext.Web.OpenAiErrorEnvelope, response.HttpContext.RequestAborted);
    }

    /// <summary>The serialised body of an error (for tests and for bodies built ahead).</summary>
    public static byte[] Serialize(string type, string? code, string message, string? param = null) =>
        JsonSerializer.SerializeToUtf8Bytes(Envelope(type, code, message, param), RouterJsonContext.Web.OpenAiErrorEnvelope);

    private static OpenAiErrorEnvelope Envelope(string type, string? code, string message, string? param) =>
        new(new OpenAiErrorBody(message, type, code, param));
}

/// <summary>The <c>{"error": ...}</c> wrapper.</summary>
public sealed record OpenAiErrorEnvelope(OpenAiErrorBody Error);

/// <summary>OpenAI's error object; <c>code</c> and <c>param</c> are written as null when absent, as OpenAI does.</summary>
public sealed record OpenAiErrorBody(string Message, string Type, string? Code, string? Param);
