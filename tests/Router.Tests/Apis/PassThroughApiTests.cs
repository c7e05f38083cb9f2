using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;

namespace Gateway.Aspire.Router.Tests.Apis;

/// <summary>
/// Moderations, images, speech, transcriptions and rerank are relayed to OpenAI-format models of
/// their type with the model name rewritten (the mock echoes what it received), and recorded.
/// </summary>
public sealed class PassThroughApiTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private async Task<HttpResponseMessage> PostJsonAsync(string path, string body, string? requestId = null)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (requestId is not null)
        {
            request.Headers.Add("x-request-id", requestId);
        }

        return await client.SendAsync(request, Cancellation);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement.Clone();

    [Fact]
    public async Task Moderation_reaches_the_provider_model_and_is_recorded()
    {
        var requestId = "mod-" + Guid.NewGuid().ToString("N");
        using var response = await PostJsonAsync("/v1/moderations", """{"model":"mock/moderation","input":"they plan an attack"}""", requestId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("mock/moderation", response.Headers.GetValues("x-gateway-model").Single());
        var json = await JsonAsync(response);
        Assert.Equal("omni-moderation-latest", json.GetProperty("model").GetString());
        Assert.True(json.GetProperty("results")[0].GetProperty("flagged").GetBoolean());
        Assert.True(json.GetProperty("results")[0].GetProperty("categories").GetProperty("violence").GetBoolean());
        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.Equal(200, record.StatusCode);
        Assert.Equal("mock/moderation", record.ServedModel);
    }

    [Theory]
    [InlineData("""{"model":"mock/nothing","input":"hi"}""", 404, "does not exist")]
    [InlineData("""{"input":[{"type":"image_url","image_url":{"url":"https://example.invalid/a.png"}}]}""", 400, "classifies text")]
    [InlineData("""{"input":[]}""", 400, "'input' must be a string or an array of 1 to 1000 items")]
    [InlineData("""{"input":"hi","model":7}""", 400, "'model' must be a string")]
    public async Task Moderation_requests_the_gateway_cannot_classify_are_refused_in_openai_words(string body, int status, string expected)
    {
        using var response = await PostJsonAsync("/v1/moderations", body);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(expected, (await JsonAsync(response)).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Image_generation_is_relayed()
    {
        using var response = await PostJsonAsync("/v1/images/generations", """{"model":"mock/image","prompt":"a lighthouse at dusk","n":1}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await JsonAsync(response);
        var png = Convert.FromBase64String(json.GetProperty("data")[0].GetProperty("b64_json").GetString()!);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        // gpt-image-1 reports token usage; the mock received the provider model's name to do so.
        Assert.True(json.GetProperty("usage").GetProperty("output_tokens").GetInt32() > 0);
    }

    [Fact]
    public async Task Speech_returns_the_audio_bytes_with_their_content_type()
    {
        using var response = await PostJsonAsync("/v1/audio/speech", """{"model":"mock/tts","input":"Hello there","voice":"alloy","response_format":"wav"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/wav", response.Content.Headers.ContentType?.MediaType);
        var audio = await response.Content.ReadAsByteArrayAsync(Cancellation);
        Assert.Equal("RIFF"u8.ToArray(), audio[..4]);
        // The mock's silence: a 44-byte header and 480 bytes a character of input.
        Assert.Equal(44 + (480 * "Hello there".Length), audio.Length);
    }

    [Fact]
    public async Task Transcription_form_is_resent_with_the_provider_model()
    {
        using var client = app.CreateClient();
        using var form = new MultipartFormDataContent();
        var audio = new ByteArrayContent(new byte[32_000]);
        audio.Headers.ContentType = new MediaTypeHeaderValue("audio/mpeg");
        form.Add(audio, "file", "meeting.mp3");
        form.Add(new StringContent("mock/whisper"), "model");
        form.Add(new StringContent("en"), "language");

        using var response = await client.PostAsync("/v1/audio/transcriptions", form, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await JsonAsync(response);
        Assert.Equal("Mock transcription of meeting.mp3 (32000 bytes) with whisper-1", json.GetProperty("text").GetString());
        Assert.Equal("whisper", response.Headers.GetValues("x-gateway-model").Single().Split('/')[1]);
    }

    [Theory]
    [InlineData(false, true, "'file' is required")]
    [InlineData(true, false, "'model' is required")]
    public async Task Transcription_form_without_its_fields_is_400(bool withFile, bool withModel, string expected)
    {
        using var client = app.CreateClient();
        using var form = new MultipartFormDataContent();
        if (withFile)
        {
            form.Add(new ByteArrayContent([1, 2, 3]), "file", "a.mp3");
        }

        if (withModel)
        {
            form.Add(new StringContent("mock/whisper"), "model");
        }

        using var response = await client.PostAsync("/v1/audio/transcriptions", form, Cancellation);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, (await JsonAsync(response)).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rerank_is_relayed_with_the_provider_model()
    {
        using var response = await PostJsonAsync("/v1/rerank",
            """{"model":"mock/rerank","query":"gateway rate limits","documents":["cooking pasta","rate limits in a gateway","weather"],"top_n":2}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await JsonAsync(response);
        Assert.Equal("bge-reranker-v2-m3", json.GetProperty("model").GetString());
        var results = json.GetProperty("results");
        Assert.Equal(2, results.GetArrayLength());
        Assert.Equal(1, results[0].GetProperty("index").GetInt32());
    }

    [Fact]
    public async Task A_model_of_another_type_is_refused_before_the_upstream()
    {
        using var response = await PostJsonAsync("/v1/audio/speech", """{"model":"mock/gpt-4o-mini","input":"Hello","voice":"alloy"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("does not serve /v1/audio/speech", (await JsonAsync(response)).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
