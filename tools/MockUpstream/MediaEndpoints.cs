using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// OpenAI's media and utility APIs under <c>/v1</c>, behind the same gate as chat (Bearer key,
/// <c>x-mock-latency-ms</c>, <c>x-mock-status</c>): image generation, speech, transcription and
/// moderation in OpenAI's wire formats, and <c>/v1/rerank</c> as vLLM serves it (Jina and Cohere's shape).
/// </summary>
/// <remarks>
/// Every answer that got as far as reading the request carries <c>x-mock-model</c>, the model the
/// request named: binary speech and image answers have no other place for it, and tests of the
/// gateway's model rewriting need to see what reached the upstream.
/// </remarks>
internal static partial class MediaEndpoints
{
    private const int MaxImages = 10;
    private const int MaxSpeechCharacters = 4096;

    // Moderation scores of an input the mock flags and of one it does not, like a classifier's
    // confident "yes" and its background noise on every other category.
    private const double FlaggedScore = 0.9312;
    private const double QuietScore = 0.0004;

    // OpenAI's moderation categories, in its documented order; the ones it also scores on images are marked.
    private static readonly (string Name, bool Images)[] s_moderationCategories =
    [
        ("harassment", false), ("harassment/threatening", false), ("hate", false), ("hate/threatening", false),
        ("illicit", false), ("illicit/violent", false), ("self-harm", true), ("self-harm/intent", true),
        ("self-harm/instructions", true), ("sexual", true), ("sexual/minors", false), ("violence", true),
        ("violence/graphic", true),
    ];

    /// <summary>Maps the endpoints.</summary>
    public static void MapMediaEndpoints(this IEndpointRouteBuilder app, MockSettings settings)
    {
        var v1 = app.MapGroup("/v1").AddOpenAiGate(settings);
        v1.MapPost("/images/generations", context => AnswerJsonAsync(context, Images));
        v1.MapPost("/audio/speech", context => AnswerJsonAsync(context, Speech));
        v1.MapPost("/audio/transcriptions", TranscriptionAsync);
        v1.MapPost("/rerank", context => AnswerJsonAsync(context, Rerank));
        v1.MapPost("/moderations", context => AnswerJsonAsync(context, Moderations));
    }

    /// <summary>Answers a JSON request with <paramref name="answer"/>, or 400 when the body is no JSON object.</summary>
    private static async Task AnswerJsonAsync(HttpContext context, Func<HttpContext, JsonElement, IResult> answer)
    {
        // The answer is executed inside the using: JSON answers write from the request's elements.
        using var body = await MockJson.ReadObjectAsync(context);
        var result = body is null ? BadRequest("The request body is not a valid JSON object.") : answer(context, body.RootElement);
        await result.ExecuteAsync(context);
    }

    /// <summary>
    /// <c>POST images/generations</c>: <c>n</c> copies of a 1×1 PNG. GPT image models (<c>gpt-image-*</c>)
    /// always answer base64 with the settings used and token usage (text tokens of the prompt, and
    /// per image the output tokens OpenAI lists for a 1024×1024 image of that quality); DALL·E models
    /// answer URLs unless <c>response_format</c> is <c>b64_json</c>, and no usage. The model appears
    /// nowhere in OpenAI's answer, only in <c>x-mock-model</c>.
    /// </summary>
    private static IResult Images(HttpContext context, JsonElement request)
    {
        // OpenAI's default model when the request names none.
        var model = EchoModel(context, MockJson.String(request, "model") ?? "dall-e-2");
        var prompt = MockJson.String(request, "prompt");
        var count = MockJson.Int(request, "n") ?? 1;
        var format = MockJson.String(request, "response_format");
        if (string.IsNullOrEmpty(prompt) || count is < 1 or > MaxImages || format is not (null or "url" or "b64_json"))
        {
            return BadRequest($"'prompt' is required; 'n' is 1 to {MaxImages}; 'response_format' is url or b64_json.");
        }

        var gptImage = model.StartsWith("gpt-image", StringComparison.Ordinal);
        var quality = MockJson.String(request, "quality") is { } asked and ("low" or "medium" or "high") ? asked : "medium";
        var id = MockAnswer.NewId();
        return new MockJsonResult(200, json =>
        {
            json.WriteStartObject();
            json.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            json.WriteStartArray("data");
            for (var i = 0; i < count; i++)
            {
                json.WriteStartObject();
                if (gptImage || format == "b64_json")
                {
                    json.WriteBase64String("b64_json", MockMedia.Png);
                }
                else
                {
                    json.WriteString("url", $"http://127.0.0.1/mock-images/{id}-{i}.png");
                }

                if (model == "dall-e-3")
                {
                    json.WriteString("revised_prompt", prompt);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (gptImage)
            {
                // The mock always draws a PNG, whatever output_format asks.
                json.WriteString("background", MockJson.String(request, "background") is "transparent" ? "transparent" : "opaque");
                json.WriteString("output_format", "png");
                json.WriteString("quality", quality);
                json.WriteString("size", MockJson.String(request, "size") is { } size and not "auto" ? size : "1024x1024");
                var input = Tokens(prompt);
                var output = count * (quality switch { "low" => 272, "high" => 4160, _ => 1056 });
                json.WriteStartObject("usage");
                json.WriteNumber("input_tokens", input);
                json.WriteStartObject("input_tokens_details");
                json.WriteNumber("text_tokens", input);
                json.WriteNumber("image_tokens", 0);
                json.WriteEndObject();
                json.WriteNumber("output_tokens", output);
                json.WriteNumber("total_tokens", input + output);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        });
    }

    /// <summary>
    /// <c>POST audio/speech</c>: silent audio in <c>response_format</c> (mp3 unless asked), its length
    /// following the input's (see <see cref="MockMedia.Speech"/>), with the format's <c>Content-Type</c>.
    /// </summary>
    private static IResult Speech(HttpContext context, JsonElement request)
    {
        var model = EchoModel(context, MockJson.String(request, "model"));
        var input = MockJson.String(request, "input");
        var format = MockJson.String(request, "response_format") ?? "mp3";
        if (string.IsNullOrEmpty(model) || string.IsNullOrEmpty(input) || input.Length > MaxSpeechCharacters
            || !MockJson.TryGet(request, "voice", out _) || MockMedia.SpeechContentType(format) is not { } contentType)
        {
            return BadRequest($"'model', 'input' (at most {MaxSpeechCharacters} characters) and 'voice' are required; 'response_format' is mp3, opus, aac, flac, wav or pcm.");
        }

        return TypedResults.Bytes(MockMedia.Speech(format, input.Length), contentType);
    }

    /// <summary>
    /// <c>POST audio/transcriptions</c> (multipart/form-data): "Mock transcription of &lt;file name&gt;
    /// (&lt;N&gt; bytes) with &lt;model&gt;" as <c>json</c> (the default), <c>text</c>, <c>verbose_json</c>,
    /// <c>srt</c> or <c>vtt</c>. Usage as OpenAI bills each model: by duration for <c>whisper-*</c>, else by
    /// tokens (ten audio tokens a second, the <c>prompt</c> field's text tokens, a token per four
    /// characters of the text); <c>verbose_json</c> always reports duration, as only whisper-1 offers it.
    /// </summary>
    private static async Task TranscriptionAsync(HttpContext context)
    {
        if (await ReadFormAsync(context) is not { } form)
        {
            await BadRequest("The request body must be well-formed multipart/form-data.").ExecuteAsync(context);
            return;
        }

        var model = EchoModel(context, form["model"].ToString());
        var file = form.Files.GetFile("file");
        var format = form["response_format"].ToString() is { Length: > 0 } asked ? asked : "json";
        if (file is null || string.IsNullOrEmpty(model) || format is not ("json" or "text" or "verbose_json" or "srt" or "vtt"))
        {
            await BadRequest("'file' and 'model' are required; 'response_format' is json, text, verbose_json, srt or vtt.").ExecuteAsync(context);
            return;
        }

        var head = new byte[64];
        int read;
        await using (var stream = file.OpenReadStream())
        {
            read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, context.RequestAborted);
        }

        var seconds = Math.Round(MockMedia.Seconds(head.AsSpan(0, read), file.Length), 2);
        var text = $"Mock transcription of {file.FileName} ({file.Length} bytes) with {model}";
        var end = TimeSpan.FromSeconds(seconds);
        IResult result = format switch
        {
            "text" => TypedResults.Text(text, "text/plain", Encoding.UTF8),
            "srt" => TypedResults.Text($"1\n00:00:00,000 --> {end:hh\\:mm\\:ss\\,fff}\n{text}\n\n", "text/plain", Encoding.UTF8),
            "vtt" => TypedResults.Text($"WEBVTT\n\n00:00:00.000 --> {end:hh\\:mm\\:ss\\.fff}\n{text}\n\n", "text/plain", Encoding.UTF8),
            "verbose_json" => new MockJsonResult(200, json => WriteVerboseTranscription(json, text, form["language"].ToString(), seconds)),
            _ => new MockJsonResult(200, json =>
            {
                json.WriteStartObject();
                json.WriteString("text", text);
                if (model.StartsWith("whisper", StringComparison.Ordinal))
                {
                    WriteDurationUsage(json, seconds);
                }
                else
                {
                    var prompt = form["prompt"].ToString();
                    var input = (prompt.Length + 3) / 4;
                    var audio = Math.Max(1, (int)Math.Ceiling(seconds * 10));
                    var output = Tokens(text);
                    json.WriteStartObject("usage");
                    json.WriteString("type", "tokens");
                    json.WriteNumber("input_tokens", input + audio);
                    json.WriteStartObject("input_token_details");
                    json.WriteNumber("text_tokens", input);
                    json.WriteNumber("audio_tokens", audio);
                    json.WriteEndObject();
                    json.WriteNumber("output_tokens", output);
                    json.WriteNumber("total_tokens", input + audio + output);
                    json.WriteEndObject();
                }

                json.WriteEndObject();
            }),
        };
        await result.ExecuteAsync(context);
    }

    /// <summary>The request's form, or null when it is not a well-formed form.</summary>
    private static async Task<IFormCollection?> ReadFormAsync(HttpContext context)
    {
        if (!context.Request.HasFormContentType)
        {
            return null;
        }

        try
        {
            return await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // A malformed multipart body (bad boundary, cut short) or one over the form limits.
            return null;
        }
    }

    /// <summary>Whisper's <c>verbose_json</c>: task, language, duration, the text and one segment that spans it.</summary>
    private static void WriteVerboseTranscription(Utf8JsonWriter json, string text, string language, double seconds)
    {
        json.WriteStartObject();
        json.WriteString("task", "transcribe");
        json.WriteString("language", language.Length > 0 ? language : "english");
        json.WriteNumber("duration", seconds);
        json.WriteString("text", text);
        json.WriteStartArray("segments");
        json.WriteStartObject();
        json.WriteNumber("id", 0);
        json.WriteNumber("seek", 0);
        json.WriteNumber("start", 0.0);
        json.WriteNumber("end", seconds);
        json.WriteString("text", text);
        json.WriteStartArray("tokens");
        json.WriteEndArray();
        json.WriteNumber("temperature", 0.0);
        json.WriteNumber("avg_logprob", -0.25);
        json.WriteNumber("compression_ratio", 1.0);
        json.WriteNumber("no_speech_prob", 0.01);
        json.WriteEndObject();
        json.WriteEndArray();
        WriteDurationUsage(json, seconds);
        json.WriteEndObject();
    }

    private static void WriteDurationUsage(Utf8JsonWriter json, double seconds)
    {
        json.WriteStartObject("usage");
        json.WriteString("type", "duration");
        json.WriteNumber("seconds", seconds);
        json.WriteEndObject();
    }

    /// <summary>
    /// <c>POST rerank</c>, as vLLM serves it: each document (a string or a <c>{"text"}</c> object) scored by
    /// the share of the query's distinct words it contains, smoothed to (overlap + 1) / (query words + 2)
    /// so that no score is exactly 0 or 1; sorted by score, ties in request order; the best
    /// <c>top_n</c> (all when absent or 0), each with its document unless <c>return_documents</c> is false.
    /// Usage counts the query once per document, as a cross-encoder reads it.
    /// </summary>
    private static IResult Rerank(HttpContext context, JsonElement request)
    {
        var model = EchoModel(context, MockJson.String(request, "model"));
        var query = MockJson.String(request, "query");
        var documents = ReadTexts(request, "documents", "text");
        var topN = MockJson.Int(request, "top_n") ?? 0;
        if (string.IsNullOrEmpty(model) || string.IsNullOrEmpty(query) || documents is null || topN < 0)
        {
            return BadRequest("'model', 'query' and 'documents' (strings or {\"text\"} objects) are required; 'top_n' is 0 or more.");
        }

        var queryWords = Words(query).ToHashSet();
        var ranked = documents
            .Select((text, index) => (Index: index, Text: text, Score: (Words(text).Distinct().Count(queryWords.Contains) + 1.0) / (queryWords.Count + 2)))
            .OrderByDescending(r => r.Score)
            .ThenBy(r => r.Index)
            .Take(topN > 0 ? topN : documents.Count)
            .ToList();
        var returnDocuments = !(MockJson.TryGet(request, "return_documents", out var value) && value.ValueKind == JsonValueKind.False);
        var tokens = documents.Sum(text => Tokens(query) + Tokens(text));
        return new MockJsonResult(200, json =>
        {
            json.WriteStartObject();
            json.WriteString("id", "rerank-" + MockAnswer.NewId());
            json.WriteString("model", model);
            json.WriteStartObject("usage");
            json.WriteNumber("prompt_tokens", tokens);
            json.WriteNumber("total_tokens", tokens);
            json.WriteEndObject();
            json.WriteStartArray("results");
            foreach (var result in ranked)
            {
                json.WriteStartObject();
                json.WriteNumber("index", result.Index);
                if (returnDocuments)
                {
                    json.WriteStartObject("document");
                    json.WriteString("text", result.Text);
                    json.WriteEndObject();
                }

                json.WriteNumber("relevance_score", Math.Round(result.Score, 6));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    /// <summary>
    /// <c>POST moderations</c>: a result per input (a string, each of an array of strings, or one
    /// multi-modal array of <c>text</c> and <c>image_url</c> parts), flagged for violence exactly when its
    /// text holds the word "attack" (any case); every documented category is present, with the
    /// input types it was scored on.
    /// </summary>
    private static IResult Moderations(HttpContext context, JsonElement request)
    {
        // OpenAI's default model when the request names none.
        var model = EchoModel(context, MockJson.String(request, "model") ?? "omni-moderation-latest");
        if (ReadModerationInputs(request) is not { } inputs)
        {
            return BadRequest("'input' is required: a string, strings, or an array of text and image_url parts.");
        }

        return new MockJsonResult(200, json =>
        {
            json.WriteStartObject();
            json.WriteString("id", "modr-" + MockAnswer.NewId());
            json.WriteString("model", model);
            json.WriteStartArray("results");
            foreach (var (text, image) in inputs)
            {
                var violent = Words(text).Contains("attack");
                json.WriteStartObject();
                json.WriteBoolean("flagged", violent);
                json.WriteStartObject("categories");
                foreach (var category in s_moderationCategories)
                {
                    json.WriteBoolean(category.Name, violent && category.Name == "violence");
                }

                json.WriteEndObject();
                json.WriteStartObject("category_scores");
                foreach (var category in s_moderationCategories)
                {
                    json.WriteNumber(category.Name, violent && category.Name == "violence" ? FlaggedScore : QuietScore);
                }

                json.WriteEndObject();
                json.WriteStartObject("category_applied_input_types");
                foreach (var category in s_moderationCategories)
                {
                    json.WriteStartArray(category.Name);
                    if (text.Length > 0)
                    {
                        json.WriteStringValue("text");
                    }

                    if (image && category.Images)
                    {
                        json.WriteStringValue("image");
                    }

                    json.WriteEndArray();
                }

                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    /// <summary>The inputs to moderate, each its text and whether it has an image; null when absent or of another shape.</summary>
    private static List<(string Text, bool Image)>? ReadModerationInputs(JsonElement request)
    {
        if (!MockJson.TryGet(request, "input", out var input))
        {
            return null;
        }

        if (input.ValueKind == JsonValueKind.String)
        {
            return [(input.GetString() ?? "", false)];
        }

        // An array of parts is one multi-modal input; an array of strings is one input each.
        if (input.ValueKind == JsonValueKind.Array && input.GetArrayLength() > 0 && input.EnumerateArray().All(part => part.ValueKind == JsonValueKind.Object))
        {
            var image = input.EnumerateArray().Any(part => MockJson.String(part, "type") == "image_url");
            return [(MockJson.Text(input), image)];
        }

        return ReadTexts(request, "input", textProperty: null)?.Select(text => (text, false)).ToList();
    }

    /// <summary>
    /// A non-empty array of strings (or, with <paramref name="textProperty"/>, of objects carrying their text
    /// in that property); null when absent, empty or of another shape.
    /// </summary>
    private static List<string>? ReadTexts(JsonElement request, string name, string? textProperty)
    {
        var texts = new List<string>();
        foreach (var item in MockJson.Array(request, name))
        {
            var text = item.ValueKind == JsonValueKind.String ? item.GetString()
                : textProperty is not null ? MockJson.String(item, textProperty)
                : null;
            if (text is null)
            {
                return null;
            }

            texts.Add(text);
        }

        return texts.Count > 0 ? texts : null;
    }

    /// <summary>Lower-case words: runs of letters and digits.</summary>
    private static IEnumerable<string> Words(string text) => WordPattern().Matches(text).Select(word => word.Value.ToLowerInvariant());

    [GeneratedRegex(@"[\p{L}\p{N}]+")]
    private static partial Regex WordPattern();

    /// <summary>The mock's token estimate for text: one per four characters, at least one.</summary>
    private static int Tokens(string text) => Math.Max(1, (text.Length + 3) / 4);

    /// <summary>Sets <c>x-mock-model</c> to the model the request named, when it named one.</summary>
    [return: NotNullIfNotNull(nameof(model))]
    private static string? EchoModel(HttpContext context, string? model)
    {
        if (!string.IsNullOrEmpty(model))
        {
            context.Response.Headers["x-mock-model"] = model;
        }

        return model;
    }

    private static IResult BadRequest(string message) => OpenAiEndpoints.Error(400, message, "invalid_request_error", null);
}
