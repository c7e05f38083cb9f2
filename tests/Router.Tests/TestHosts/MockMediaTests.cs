using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Gateway.Aspire.Router.Tests.TestHosts;

/// <summary>The mock's OpenAI media and utility APIs: images, speech, transcriptions, rerank and moderations.</summary>
public sealed class MockMediaTests(RouterAppFixture app)
{
    private static readonly (string, string) s_auth = ("Authorization", "Bearer " + RouterAppFixture.MockApiKey);
    private static readonly HttpClient s_client = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static readonly string[] s_moderationCategories =
    [
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
        "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence", "violence/graphic",
    ];

    [Fact]
    public async Task Gpt_image_answers_base64_pngs_with_the_settings_and_token_usage()
    {
        const string Body = """{"model":"gpt-image-1","prompt":"A lighthouse on a cliff at dawn, watercolour","n":2,"size":"1536x1024","quality":"low"}""";
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/images/generations", Body, s_auth);
        var json = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gpt-image-1", ModelHeader(response));
        Assert.True(json.GetProperty("created").GetInt64() > 1_700_000_000);
        Assert.False(json.TryGetProperty("model", out _));
        Assert.Equal(2, json.GetProperty("data").GetArrayLength());
        foreach (var image in json.GetProperty("data").EnumerateArray())
        {
            Assert.False(image.TryGetProperty("url", out _));
            AssertOnePixelPng(Convert.FromBase64String(image.GetProperty("b64_json").GetString()!));
        }

        Assert.Equal("opaque", json.GetProperty("background").GetString());
        Assert.Equal("png", json.GetProperty("output_format").GetString());
        Assert.Equal("low", json.GetProperty("quality").GetString());
        Assert.Equal("1536x1024", json.GetProperty("size").GetString());
        var usage = json.GetProperty("usage");
        Assert.Equal(11, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(11, usage.GetProperty("input_tokens_details").GetProperty("text_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("input_tokens_details").GetProperty("image_tokens").GetInt32());
        Assert.Equal(2 * 272, usage.GetProperty("output_tokens").GetInt32());
        Assert.Equal(11 + (2 * 272), usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Dall_e_answers_urls_by_default_and_base64_on_request_without_usage()
    {
        using var urls = await MockHttp.PostAsync(app.MockUrl, "/v1/images/generations", """{"model":"dall-e-3","prompt":"A red bicycle","size":"1024x1024"}""", s_auth);
        using var base64 = await MockHttp.PostAsync(app.MockUrl, "/v1/images/generations", """{"prompt":"A red bicycle","n":1,"response_format":"b64_json"}""", s_auth);
        var url = (await urls.JsonAsync()).GetProperty("data")[0];
        var inline = await base64.JsonAsync();

        Assert.StartsWith("http://127.0.0.1/", url.GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.Equal("A red bicycle", url.GetProperty("revised_prompt").GetString());
        Assert.False(url.TryGetProperty("b64_json", out _));
        Assert.Equal("dall-e-3", ModelHeader(urls));
        Assert.Equal("dall-e-2", ModelHeader(base64));
        AssertOnePixelPng(Convert.FromBase64String(inline.GetProperty("data")[0].GetProperty("b64_json").GetString()!));
        Assert.False(inline.TryGetProperty("usage", out _));
        Assert.False((await urls.JsonAsync()).TryGetProperty("usage", out _));
    }

    [Theory]
    [InlineData("""{"model":"gpt-image-1"}""")]
    [InlineData("""{"model":"dall-e-2","prompt":"A cat","n":11}""")]
    [InlineData("""{"model":"dall-e-2","prompt":"A cat","response_format":"jpeg"}""")]
    [InlineData("""["not","an","object"]""")]
    public async Task Invalid_image_requests_are_400_in_openai_shape(string body)
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/images/generations", body, s_auth);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", (await response.JsonAsync()).GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Speech_as_wav_is_a_valid_riff_file_whose_length_follows_the_input()
    {
        using var brief = await Speech("Hello.", "wav");
        using var lengthy = await Speech("Hello, and welcome to the quarterly review.", "wav");
        var shortBytes = await brief.Content.ReadAsByteArrayAsync(Cancellation);
        var longBytes = await lengthy.Content.ReadAsByteArrayAsync(Cancellation);

        Assert.Equal(HttpStatusCode.OK, brief.StatusCode);
        Assert.Equal("audio/wav", brief.Content.Headers.ContentType!.MediaType);
        Assert.Equal("gpt-4o-mini-tts", ModelHeader(brief));
        Assert.Equal("RIFF"u8.ToArray(), shortBytes[..4]);
        Assert.Equal("WAVEfmt "u8.ToArray(), shortBytes[8..16]);
        Assert.Equal(shortBytes.Length - 8, BinaryPrimitives.ReadInt32LittleEndian(shortBytes.AsSpan(4)));
        Assert.Equal(1, BinaryPrimitives.ReadInt16LittleEndian(shortBytes.AsSpan(22)));
        Assert.Equal(24_000, BinaryPrimitives.ReadInt32LittleEndian(shortBytes.AsSpan(24)));
        Assert.Equal(48_000, BinaryPrimitives.ReadInt32LittleEndian(shortBytes.AsSpan(28)));
        Assert.Equal("data"u8.ToArray(), shortBytes[36..40]);
        Assert.Equal(shortBytes.Length - 44, BinaryPrimitives.ReadInt32LittleEndian(shortBytes.AsSpan(40)));
        Assert.Equal(6 * 480, shortBytes.Length - 44);
        Assert.Equal(43 * 480, longBytes.Length - 44);
    }

    [Fact]
    public async Task Speech_defaults_to_mp3_and_answers_each_format_with_its_content_type()
    {
        using var mp3 = await MockHttp.PostAsync(app.MockUrl, "/v1/audio/speech", """{"model":"tts-1","input":"Good morning.","voice":"alloy"}""", s_auth);
        using var again = await MockHttp.PostAsync(app.MockUrl, "/v1/audio/speech", """{"model":"tts-1","input":"Good morning.","voice":"alloy"}""", s_auth);
        using var pcm = await Speech("Good morning.", "pcm");
        using var flac = await Speech("Good morning.", "flac");
        var mp3Bytes = await mp3.Content.ReadAsByteArrayAsync(Cancellation);

        Assert.Equal("audio/mpeg", mp3.Content.Headers.ContentType!.MediaType);
        Assert.Equal("tts-1", ModelHeader(mp3));
        Assert.Equal("ID3"u8.ToArray(), mp3Bytes[..3]);
        Assert.Equal(mp3Bytes, await again.Content.ReadAsByteArrayAsync(Cancellation));
        Assert.Equal("audio/pcm", pcm.Content.Headers.ContentType!.MediaType);
        Assert.Equal(13 * 480, (await pcm.Content.ReadAsByteArrayAsync(Cancellation)).Length);
        Assert.Equal("audio/flac", flac.Content.Headers.ContentType!.MediaType);
        Assert.Equal("fLaC"u8.ToArray(), (await flac.Content.ReadAsByteArrayAsync(Cancellation))[..4]);
    }

    [Theory]
    [InlineData("""{"model":"tts-1","voice":"alloy"}""")]
    [InlineData("""{"model":"tts-1","input":"","voice":"alloy"}""")]
    [InlineData("""{"model":"tts-1","input":"Hi","voice":"alloy","response_format":"ogg"}""")]
    [InlineData("""{"input":"Hi","voice":"alloy"}""")]
    public async Task Speech_without_input_or_in_an_unknown_format_is_400(string body)
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/audio/speech", body, s_auth);
        var error = (await response.JsonAsync()).GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains("'input'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Transcription_of_real_multipart_names_file_size_and_model_with_token_usage()
    {
        // 100 characters of speech is one second of 24 kHz WAV: ten audio tokens.
        using var speech = await Speech(new string('a', 100), "wav");
        var audio = await speech.Content.ReadAsByteArrayAsync(Cancellation);
        using var response = await Transcribe(audio, "standup.wav", ("model", "gpt-4o-transcribe"), ("language", "en"), ("prompt", "Daily standup"));
        var json = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gpt-4o-transcribe", ModelHeader(response));
        var text = json.GetProperty("text").GetString()!;
        Assert.Equal($"Mock transcription of standup.wav ({audio.Length} bytes) with gpt-4o-transcribe", text);
        var usage = json.GetProperty("usage");
        Assert.Equal("tokens", usage.GetProperty("type").GetString());
        Assert.Equal(10, usage.GetProperty("input_token_details").GetProperty("audio_tokens").GetInt32());
        Assert.Equal(4, usage.GetProperty("input_token_details").GetProperty("text_tokens").GetInt32());
        Assert.Equal(14, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal((text.Length + 3) / 4, usage.GetProperty("output_tokens").GetInt32());
        Assert.Equal(14 + usage.GetProperty("output_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Transcription_as_text_verbose_json_and_whisper_json()
    {
        var audio = new byte[32_000];
        using var text = await Transcribe(audio, "memo.mp3", ("model", "gpt-4o-mini-transcribe"), ("response_format", "text"));
        using var verbose = await Transcribe(audio, "memo.mp3", ("model", "whisper-1"), ("response_format", "verbose_json"), ("language", "en"));
        using var whisper = await Transcribe(audio, "memo.mp3", ("model", "whisper-1"));

        Assert.Equal("text/plain", text.Content.Headers.ContentType!.MediaType);
        Assert.Equal("Mock transcription of memo.mp3 (32000 bytes) with gpt-4o-mini-transcribe", await text.Content.ReadAsStringAsync(Cancellation));
        var detailed = await verbose.JsonAsync();
        Assert.Equal("transcribe", detailed.GetProperty("task").GetString());
        Assert.Equal("en", detailed.GetProperty("language").GetString());
        Assert.Equal(2.0, detailed.GetProperty("duration").GetDouble());
        var segment = Assert.Single(detailed.GetProperty("segments").EnumerateArray());
        Assert.Equal(2.0, segment.GetProperty("end").GetDouble());
        Assert.Equal(detailed.GetProperty("text").GetString(), segment.GetProperty("text").GetString());
        Assert.Equal("duration", detailed.GetProperty("usage").GetProperty("type").GetString());
        var usage = (await whisper.JsonAsync()).GetProperty("usage");
        Assert.Equal("duration", usage.GetProperty("type").GetString());
        Assert.Equal(2.0, usage.GetProperty("seconds").GetDouble());
    }

    [Fact]
    public async Task Transcription_without_file_or_model_or_well_formed_multipart_is_400()
    {
        using var noFile = await Transcribe(null, "x.wav", ("model", "whisper-1"));
        using var noModel = await Transcribe(new byte[10], "x.wav");
        using var json = await MockHttp.PostAsync(app.MockUrl, "/v1/audio/transcriptions", """{"model":"whisper-1","file":"x.wav"}""", s_auth);
        using var cutShort = new HttpRequestMessage(HttpMethod.Post, new Uri(app.MockUrl, "/v1/audio/transcriptions"))
        {
            Content = new StringContent("--xx\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisp"),
        };
        cutShort.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=xx");
        cutShort.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RouterAppFixture.MockApiKey);
        using var malformed = await s_client.SendAsync(cutShort, Cancellation);

        foreach (var response in new[] { noFile, noModel, json, malformed })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("invalid_request_error", (await response.JsonAsync()).GetProperty("error").GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task Rerank_sorts_documents_by_shared_words_and_keeps_top_n()
    {
        const string Body = """
            {"model":"BAAI/bge-reranker-v2-m3","query":"What is the capital of France?","top_n":2,
             "documents":["Cats sleep most of the day.","Paris is the capital of France.",{"text":"The capital city of Germany is Berlin."}]}
            """;
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/rerank", Body, s_auth);
        var json = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("rerank-", json.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("BAAI/bge-reranker-v2-m3", json.GetProperty("model").GetString());
        Assert.Equal("BAAI/bge-reranker-v2-m3", ModelHeader(response));
        var results = json.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        // Query words: what, is, the, capital, of, france (6); smoothed (shared + 1) / (6 + 2).
        Assert.Equal(1, results[0].GetProperty("index").GetInt32());
        Assert.Equal("Paris is the capital of France.", results[0].GetProperty("document").GetProperty("text").GetString());
        Assert.Equal(6.0 / 8, results[0].GetProperty("relevance_score").GetDouble());
        Assert.Equal(2, results[1].GetProperty("index").GetInt32());
        Assert.Equal(5.0 / 8, results[1].GetProperty("relevance_score").GetDouble());
        var usage = json.GetProperty("usage");
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        Assert.True(usage.GetProperty("total_tokens").GetInt32() > 3 * 8);
    }

    [Fact]
    public async Task Rerank_can_leave_documents_out_and_rejects_a_missing_query()
    {
        using var bare = await MockHttp.PostAsync(app.MockUrl, "/v1/rerank", """{"model":"rerank-small","query":"tea","documents":["coffee","green tea"],"return_documents":false}""", s_auth);
        using var noQuery = await MockHttp.PostAsync(app.MockUrl, "/v1/rerank", """{"model":"rerank-small","documents":["coffee"]}""", s_auth);
        var results = (await bare.JsonAsync()).GetProperty("results").EnumerateArray().ToList();

        Assert.Equal(new[] { 1, 0 }, results.Select(r => r.GetProperty("index").GetInt32()));
        Assert.All(results, r => Assert.False(r.TryGetProperty("document", out _)));
        Assert.Equal(HttpStatusCode.BadRequest, noQuery.StatusCode);
        Assert.Equal("invalid_request_error", (await noQuery.JsonAsync()).GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Moderation_flags_violence_for_the_word_attack_with_every_category()
    {
        const string Body = """{"model":"omni-moderation-latest","input":["How do I bake bread?","They planned to ATTACK the convoy at night."]}""";
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/moderations", Body, s_auth);
        var json = await response.JsonAsync();

        Assert.StartsWith("modr-", json.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("omni-moderation-latest", json.GetProperty("model").GetString());
        Assert.Equal("omni-moderation-latest", ModelHeader(response));
        var results = json.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        foreach (var result in results)
        {
            Assert.Equal(s_moderationCategories, result.GetProperty("categories").EnumerateObject().Select(p => p.Name));
            Assert.Equal(s_moderationCategories, result.GetProperty("category_scores").EnumerateObject().Select(p => p.Name));
            Assert.All(result.GetProperty("category_applied_input_types").EnumerateObject(), p => Assert.Equal("[\"text\"]", p.Value.GetRawText()));
        }

        Assert.False(results[0].GetProperty("flagged").GetBoolean());
        Assert.All(results[0].GetProperty("categories").EnumerateObject(), p => Assert.False(p.Value.GetBoolean()));
        Assert.True(results[1].GetProperty("flagged").GetBoolean());
        Assert.True(results[1].GetProperty("categories").GetProperty("violence").GetBoolean());
        Assert.False(results[1].GetProperty("categories").GetProperty("hate").GetBoolean());
        Assert.True(results[1].GetProperty("category_scores").GetProperty("violence").GetDouble() > 0.5);
        Assert.True(results[0].GetProperty("category_scores").GetProperty("violence").GetDouble() < 0.01);
    }

    [Fact]
    public async Task Moderation_of_text_and_image_parts_is_one_result_with_image_input_types()
    {
        const string Body = """
            {"input":[{"type":"text","text":"Is this picture fine?"},{"type":"image_url","image_url":{"url":"https://example.invalid/photo.png"}}]}
            """;
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/moderations", Body, s_auth);
        using var empty = await MockHttp.PostAsync(app.MockUrl, "/v1/moderations", """{"model":"omni-moderation-latest","input":[]}""", s_auth);
        var json = await response.JsonAsync();

        Assert.Equal("omni-moderation-latest", json.GetProperty("model").GetString());
        var types = Assert.Single(json.GetProperty("results").EnumerateArray()).GetProperty("category_applied_input_types");
        Assert.Equal("""["text","image"]""", types.GetProperty("violence").GetRawText());
        Assert.Equal("""["text"]""", types.GetProperty("harassment").GetRawText());
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
    }

    [Theory]
    [InlineData("/v1/images/generations", """{"model":"gpt-image-1","prompt":"A cat"}""")]
    [InlineData("/v1/audio/speech", """{"model":"tts-1","input":"Hi","voice":"alloy"}""")]
    [InlineData("/v1/audio/transcriptions", """{"model":"whisper-1"}""")]
    [InlineData("/v1/rerank", """{"model":"r","query":"q","documents":["d"]}""")]
    [InlineData("/v1/moderations", """{"input":"hello"}""")]
    public async Task Every_endpoint_refuses_a_wrong_key_and_obeys_the_status_control(string path, string body)
    {
        using var wrongKey = await MockHttp.PostAsync(app.MockUrl, path, body, ("Authorization", "Bearer sk-wrong"));
        using var noKey = await MockHttp.PostAsync(app.MockUrl, path, body);
        using var limited = await MockHttp.PostAsync(app.MockUrl, path, body, s_auth, ("x-mock-status", "429"));
        using var failed = await MockHttp.PostAsync(app.MockUrl, path, body, s_auth, ("x-mock-status", "503"));

        foreach (var refused in new[] { wrongKey, noKey })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("invalid_api_key", (await refused.JsonAsync()).GetProperty("error").GetProperty("code").GetString());
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("1", limited.Headers.GetValues("Retry-After").Single());
        Assert.Equal("rate_limit_error", (await limited.JsonAsync()).GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal("server_error", (await failed.JsonAsync()).GetProperty("error").GetProperty("type").GetString());
    }

    private Task<HttpResponseMessage> Speech(string input, string format) => MockHttp.PostAsync(
        app.MockUrl,
        "/v1/audio/speech",
        $$"""{"model":"gpt-4o-mini-tts","input":"{{input}}","voice":"coral","response_format":"{{format}}"}""",
        s_auth);

    /// <summary>POSTs a real multipart/form-data body: the <c>file</c> part (when given) and the text fields.</summary>
    private Task<HttpResponseMessage> Transcribe(byte[]? audio, string fileName, params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        if (audio is not null)
        {
            var file = new ByteArrayContent(audio);
            file.Headers.ContentType = new MediaTypeHeaderValue(fileName.EndsWith(".wav", StringComparison.Ordinal) ? "audio/wav" : "audio/mpeg");
            form.Add(file, "file", fileName);
        }

        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(app.MockUrl, "/v1/audio/transcriptions")) { Content = form };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RouterAppFixture.MockApiKey);
        return s_client.SendAsync(request, Cancellation);
    }

    private static string? ModelHeader(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-mock-model", out var values) ? values.Single() : null;

    /// <summary>A PNG signature, an IHDR of 1×1, and an IDAT that inflates to one filtered RGB row.</summary>
    private static void AssertOnePixelPng(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        var idatLength = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(33));
        Assert.Equal("IDAT"u8.ToArray(), png[37..41]);
        using var inflated = new ZLibStream(new MemoryStream(png, 41, idatLength), CompressionMode.Decompress);
        var row = new byte[16];
        Assert.Equal(4, inflated.ReadAtLeast(row, row.Length, throwOnEndOfStream: false));
        Assert.Equal("IEND"u8.ToArray(), png[^8..^4]);
    }
}
