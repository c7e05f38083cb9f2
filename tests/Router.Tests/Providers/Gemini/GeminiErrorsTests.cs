using System.Text;
using Gateway.Aspire.Router.Providers.Gemini;

namespace Gateway.Aspire.Router.Tests.Providers.Gemini;

public sealed class GeminiErrorsTests
{
    private static (string Status, string Message) Read(string body) => GeminiErrors.Read(Encoding.UTF8.GetBytes(body));

    [Fact]
    public void Reads_googles_error_object()
    {
        var (status, message) = Read("""
            {
              "error": {
                "code": 400,
                "message": "* GenerateContentRequest.contents: contents is not specified\n",
                "status": "INVALID_ARGUMENT",
                "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "contents"}]}]
              }
            }
            """);

        Assert.Equal("INVALID_ARGUMENT", status);
        Assert.Equal("* GenerateContentRequest.contents: contents is not specified\n", message);
    }

    [Fact]
    public void Reads_the_array_wrapped_form_of_streaming_endpoints()
    {
        var (status, message) = Read("""[{"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}}]""");

        Assert.Equal("RESOURCE_EXHAUSTED", status);
        Assert.Equal("Resource has been exhausted (e.g. check quota).", message);
    }

    [Fact]
    public void Without_status_or_message_the_code_names_the_error()
    {
        var (status, message) = Read("""{"error": {"code": 503}}""");

        Assert.Equal("UNAVAILABLE", status);
        Assert.Contains("UNAVAILABLE (503)", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<html><body>502 Bad Gateway</body></html>", "<html><body>502 Bad Gateway</body></html>")]
    [InlineData("{\"message\": \"no error member\"}", "{\"message\": \"no error member\"}")]
    [InlineData("   ", "The Gemini API answered with an error and no details.")]
    public void Other_bodies_are_quoted_as_unknown(string body, string expected)
    {
        var (status, message) = Read(body);

        Assert.Equal("UNKNOWN", status);
        Assert.Equal(expected, message);
    }

    [Fact]
    public void Long_non_json_bodies_are_trimmed()
    {
        var (_, message) = Read(new string('x', 5000));

        Assert.Equal(501, message.Length);
        Assert.EndsWith("…", message, StringComparison.Ordinal);
    }
}
