using Gateway.Aspire.Router.Messages;
using Gateway.Aspire.Router.Providers;

namespace Gateway.Aspire.Router.Errors;

/// <summary>
/// Writes an error in the format the client speaks: OpenAI's envelope, or Anthropic's
/// <c>{"type":"error","error":{...}}</c> on the Anthropic-compatible endpoint, so that each SDK raises
/// its own typed exception for the status.
/// </summary>
internal static class ClientErrors
{
    /// <summary>Writes an error to a response that has not started.</summary>
    public static Task WriteAsync(WireFormat format, HttpResponse response, int status, string type, string? code, string message, string? param = null)
    {
        if (format != WireFormat.Anthropic)
        {
            return OpenAiError.WriteAsync(response, status, type, code, message, param);
        }

        var body = AnthropicErrorBody.Serialize(status, message);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, response.HttpContext.RequestAborted).AsTask();
    }

    /// <summary>An error as an endpoint result in the client's format.</summary>
    public static IResult Result(WireFormat format, int status, string type, string? code, string message) =>
        format == WireFormat.Anthropic
            ? TypedResults.Content(System.Text.Encoding.UTF8.GetString(AnthropicErrorBody.Serialize(status, message)), "application/json", statusCode: status)
            : OpenAiError.Result(status, type, code, message);

    /// <summary>An OpenAI-format error body re-rendered in the client's format.</summary>
    public static byte[] Render(WireFormat format, int status, byte[] openAiBody) =>
        format == WireFormat.Anthropic ? AnthropicErrorBody.FromOpenAiError(status, openAiBody) : openAiBody;
}
