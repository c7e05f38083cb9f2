using System.Buffers;
using System.Text.Json;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Providers.Gemini;

/// <summary>
/// Turns an OpenAI Chat Completions request into the body of Gemini's
/// <c>models/{model}:generateContent</c> / <c>:streamGenerateContent</c> (v1beta
/// GenerateContentRequest). The model and the streaming choice live in the URL, not the body.
/// </summary>
/// <remarks>
/// <para>Messages:</para>
/// <list type="bullet">
/// <item><c>system</c> and <c>developer</c> messages, wherever they appear, become
/// <c>systemInstruction</c>, one text part per text, in order (Gemini's system instruction is text only).</item>
/// <item><c>user</c> is role <c>user</c>, <c>assistant</c> role <c>model</c>, and <c>tool</c> results
/// are <c>functionResponse</c> parts of a <c>user</c> turn. Consecutive parts of one role are merged
/// into one Content: Gemini wants user and model turns to alternate. Empty texts are left out
/// (Gemini rejects empty text parts), and so are messages left without parts.</item>
/// <item>User parts: <c>text</c>; <c>image_url</c> with a <c>data:</c> URL as <c>inlineData</c> and
/// with an http(s) URL as <c>fileData</c> (MIME type guessed from the path's extension, else
/// <c>image/jpeg</c>; <c>detail</c> has no Gemini equivalent and is dropped); <c>input_audio</c> as
/// <c>inlineData</c> <c>audio/{format}</c>; <c>file</c> with a <c>data:</c> URL in <c>file_data</c>
/// as <c>inlineData</c>. Anything else is a <see cref="TranslationException"/>.</item>
/// <item>Assistant <c>tool_calls</c> become <c>functionCall</c> parts with the parsed
/// <c>arguments</c> as <c>args</c>; a tool message's function name is found from the earlier
/// assistant tool call with its <c>tool_call_id</c> (Gemini matches results by name), and its
/// content is the <c>response</c> when it is a JSON object, else <c>{"content": "&lt;text&gt;"}</c>
/// (Gemini's response is a Struct). A call's <c>extra_content.google.thought_signature</c>
/// (see <see cref="GeminiCandidates.WriteToolCall"/>) goes back as the part's <c>thoughtSignature</c>.
/// Tool call ids are not sent: Gemini's <c>id</c> fields are optional and matching is by name and order.</item>
/// </list>
/// <para>Tools: function tools become one Tool's <c>functionDeclarations</c>. Their JSON Schema
/// <c>parameters</c> go unchanged into <c>parametersJsonSchema</c>, which v1beta documents as taking
/// JSON Schema (mutually exclusive with the OpenAPI-subset <c>parameters</c>), so nothing has to be
/// stripped. <c>tool_choice</c>: auto → AUTO, none → NONE, required → ANY, a named function →
/// ANY with <c>allowedFunctionNames</c>.</para>
/// <para>generationConfig: temperature, top_p → topP, max_completion_tokens (else max_tokens) →
/// maxOutputTokens, stop → stopSequences, n → candidateCount, seed, presence_penalty and
/// frequency_penalty, response_format json_object → responseMimeType <c>application/json</c>,
/// json_schema → the same plus <c>responseJsonSchema</c> (JSON Schema, documented next to the
/// OpenAPI-subset responseSchema) from <c>json_schema.schema</c>.</para>
/// <para>Dropped: <c>stream</c> (the URL decides), <c>stream_options</c>, <c>user</c>,
/// <c>logit_bias</c>, <c>logprobs</c>/<c>top_logprobs</c>, <c>parallel_tool_calls</c>,
/// <c>reasoning_effort</c>, function <c>strict</c>, <c>json_schema.name</c>/<c>strict</c>, message
/// <c>name</c>s, and every field this list does not name.</para>
/// </remarks>
internal static class GeminiRequestTranslator
{
    /// <summary>Translates a request.</summary>
    /// <param name="openAiChatRequest">The client's Chat Completions body.</param>
    /// <returns>The Gemini request body.</returns>
    /// <exception cref="TranslationException">The request is invalid or cannot be expressed for Gemini; the message says what to change.</exception>
    public static byte[] Translate(ReadOnlySpan<byte> openAiChatRequest)
    {
        using var document = Parse(openAiChatRequest);
        var request = document.RootElement;
        if (request.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException("The request body must be a JSON object.");
        }

        var buffer = new ArrayBufferWriter<byte>(openAiChatRequest.Length + 256);
        using (var json = new Utf8JsonWriter(buffer, SseEventWriter.JsonOptions))
        {
            json.WriteStartObject();
            var system = WriteContents(json, request);
            WriteSystemInstruction(json, system);
            var functions = WriteTools(json, request);
            WriteToolConfig(json, request, functions);
            WriteGenerationConfig(json, request);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static JsonDocument Parse(ReadOnlySpan<byte> body)
    {
        try
        {
            RejectUnpairedSurrogates(body);
            return JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException e)
        {
            throw new TranslationException($"The request body is not valid JSON: {e.Message}");
        }
    }

    /// <summary>
    /// JsonDocument accepts escapes such as <c>"\ud800"</c> that make no .NET string, and reading
    /// them later throws InvalidOperationException; find them first so they are a 400, not a 500.
    /// </summary>
    private static void RejectUnpairedSurrogates(ReadOnlySpan<byte> body)
    {
        if (body.IndexOf("\\u"u8) < 0)
        {
            return; // no \u escapes at all: the common case costs one scan
        }

        var reader = new Utf8JsonReader(body);
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
            {
                try
                {
                    reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    throw new TranslationException(@"The request body has a string with an unpaired surrogate escape (\uD800-\uDFFF); send valid UTF-16 text.");
                }
            }
        }
    }

    // ---- messages → contents and systemInstruction -------------------------------------------

    private static List<string> WriteContents(Utf8JsonWriter json, JsonElement request)
    {
        if (!TryGet(request, "messages", out var messages))
        {
            throw new TranslationException("'messages' is required.", "messages");
        }

        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw new TranslationException("'messages' must be a non-empty array of messages.", "messages");
        }

        var system = new List<string>();
        var toolNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var turns = new Turns(json);
        json.WriteStartArray("contents"u8);
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var at = $"messages[{i++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw new TranslationException($"{at} must be an object.", at);
            }

            switch (RequiredString(message, "role", at))
            {
                case "system" or "developer":
                    foreach (var text in Texts(message, at, allowRefusal: false))
                    {
                        system.Add(text);
                    }

                    break;
                case "user":
                    WriteUserParts(turns, message, at);
                    break;
                case "assistant":
                    WriteAssistantParts(turns, message, at, toolNames);
                    break;
                case "tool":
                    WriteToolResult(turns, message, at, toolNames);
                    break;
                case var role:
                    throw new TranslationException($"{at}.role '{role}' cannot be sent to Gemini; use system, developer, user, assistant or tool.", $"{at}.role");
            }
        }

        turns.Close();
        json.WriteEndArray();
        if (turns.Count == 0)
        {
            throw new TranslationException("'messages' must contain a user or assistant message with content; Gemini needs at least one turn besides system instructions.", "messages");
        }

        return system;
    }

    private static void WriteSystemInstruction(Utf8JsonWriter json, List<string> texts)
    {
        texts.RemoveAll(t => t.Length == 0);
        if (texts.Count == 0)
        {
            return;
        }

        json.WriteStartObject("systemInstruction"u8);
        json.WriteStartArray("parts"u8);
        foreach (var text in texts)
        {
            json.WriteStartObject();
            json.WriteString("text"u8, text);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteUserParts(Turns turns, JsonElement message, string at)
    {
        if (!TryGet(message, "content", out var content))
        {
            throw new TranslationException($"{at}.content is required for a user message.", $"{at}.content");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            WriteText(turns, "user", content.GetString()!);
            return;
        }

        var j = 0;
        foreach (var part in ContentParts(content, at))
        {
            var partAt = $"{at}.content[{j++}]";
            switch (PartType(part, partAt))
            {
                case "text":
                    WriteText(turns, "user", RequiredString(part, "text", partAt));
                    break;
                case "image_url":
                    var image = RequiredObject(part, "image_url", partAt);
                    WriteImage(turns.BeginPart("user"), RequiredString(image, "url", $"{partAt}.image_url"), $"{partAt}.image_url.url");
                    turns.EndPart();
                    break;
                case "input_audio":
                    var audio = RequiredObject(part, "input_audio", partAt);
                    var format = RequiredString(audio, "format", $"{partAt}.input_audio");
                    WriteInlineData(turns.BeginPart("user"), "audio/" + format, RequiredString(audio, "data", $"{partAt}.input_audio"));
                    turns.EndPart();
                    break;
                case "file":
                    WriteFile(turns, RequiredObject(part, "file", partAt), $"{partAt}.file");
                    break;
                case var type:
                    throw new TranslationException($"{partAt}: content parts of type '{type}' cannot be sent to Gemini; use text, image_url, input_audio or file.", partAt);
            }
        }
    }

    private static void WriteAssistantParts(Turns turns, JsonElement message, string at, Dictionary<string, string> toolNames)
    {
        foreach (var text in Texts(message, at, allowRefusal: true))
        {
            WriteText(turns, "model", text);
        }

        if (!TryGet(message, "tool_calls", out var calls))
        {
            return;
        }

        if (calls.ValueKind != JsonValueKind.Array)
        {
            throw new TranslationException($"{at}.tool_calls must be an array.", $"{at}.tool_calls");
        }

        var k = 0;
        foreach (var call in calls.EnumerateArray())
        {
            var callAt = $"{at}.tool_calls[{k++}]";
            if (call.ValueKind != JsonValueKind.Object)
            {
                throw new TranslationException($"{callAt} must be an object.", callAt);
            }

            if (TryGet(call, "type", out var type) && !(type.ValueKind == JsonValueKind.String && type.ValueEquals("function"u8)))
            {
                throw new TranslationException($"{callAt}.type must be 'function'; Gemini has only function calls.", $"{callAt}.type");
            }

            var id = RequiredString(call, "id", callAt);
            var function = RequiredObject(call, "function", callAt);
            var name = RequiredString(function, "name", $"{callAt}.function");
            toolNames[id] = name;

            var json = turns.BeginPart("model");
            json.WriteStartObject("functionCall"u8);
            json.WriteString("name"u8, name);
            json.WritePropertyName("args"u8);
            WriteArguments(json, RequiredString(function, "arguments", $"{callAt}.function"), $"{callAt}.function.arguments");
            json.WriteEndObject();
            if (TryGet(call, "extra_content", out var extra) && extra.ValueKind == JsonValueKind.Object
                && extra.TryGetProperty("google"u8, out var google) && google.ValueKind == JsonValueKind.Object
                && google.TryGetProperty("thought_signature"u8, out var signature) && signature.ValueKind == JsonValueKind.String)
            {
                json.WriteString("thoughtSignature"u8, signature.GetString());
            }

            turns.EndPart();
        }
    }

    private static void WriteToolResult(Turns turns, JsonElement message, string at, Dictionary<string, string> toolNames)
    {
        var id = RequiredString(message, "tool_call_id", at);
        if (!toolNames.TryGetValue(id, out var name))
        {
            throw new TranslationException(
                $"{at}.tool_call_id '{id}' matches no tool call of an earlier assistant message; Gemini needs the called function's name, so send the assistant message with that tool call before its result.",
                $"{at}.tool_call_id");
        }

        var text = string.Concat(Texts(message, at, allowRefusal: false));
        var json = turns.BeginPart("user");
        json.WriteStartObject("functionResponse"u8);
        json.WriteString("name"u8, name);
        json.WritePropertyName("response"u8);
        if (AsJsonObject(text) is { } result)
        {
            using (result)
            {
                result.RootElement.WriteTo(json);
            }
        }
        else
        {
            json.WriteStartObject();
            json.WriteString("content"u8, text);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        turns.EndPart();
    }

    /// <summary>The text pieces of a system, assistant or tool message's content (string or text parts); none when it is absent or null.</summary>
    private static List<string> Texts(JsonElement message, string at, bool allowRefusal)
    {
        var texts = new List<string>();
        if (!TryGet(message, "content", out var content))
        {
            return texts;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            texts.Add(content.GetString()!);
            return texts;
        }

        var j = 0;
        foreach (var part in ContentParts(content, at))
        {
            var partAt = $"{at}.content[{j++}]";
            var type = PartType(part, partAt);
            texts.Add(type switch
            {
                "text" => RequiredString(part, "text", partAt),
                "refusal" when allowRefusal => RequiredString(part, "refusal", partAt),
                _ => throw new TranslationException($"{partAt}: content parts of type '{type}' cannot be sent to Gemini in this message; only text can.", partAt),
            });
        }

        return texts;
    }

    private static JsonElement.ArrayEnumerator ContentParts(JsonElement content, string at) =>
        content.ValueKind == JsonValueKind.Array
            ? content.EnumerateArray()
            : throw new TranslationException($"{at}.content must be a string or an array of content parts.", $"{at}.content");

    private static string PartType(JsonElement part, string at) =>
        part.ValueKind == JsonValueKind.Object
            ? RequiredString(part, "type", at)
            : throw new TranslationException($"{at} must be a content part object.", at);

    private static void WriteText(Turns turns, string role, string text)
    {
        if (text.Length == 0)
        {
            return; // Gemini rejects empty text parts
        }

        turns.BeginPart(role).WriteString("text"u8, text);
        turns.EndPart();
    }

    private static void WriteImage(Utf8JsonWriter json, string url, string at)
    {
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var (mimeType, data) = DataUrl(url, at);
            WriteInlineData(json, mimeType, data.Span);
            return;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new TranslationException($"{at} must be an http(s) URL or a base64 data: URL.", at);
        }

        json.WriteStartObject("fileData"u8);
        json.WriteString("mimeType"u8, ImageTypeOf(uri));
        json.WriteString("fileUri"u8, url);
        json.WriteEndObject();
    }

    private static void WriteFile(Turns turns, JsonElement file, string at)
    {
        if (TryGet(file, "file_data", out var data) && data.ValueKind == JsonValueKind.String)
        {
            var (mimeType, base64) = DataUrl(data.GetString()!, $"{at}.file_data");
            WriteInlineData(turns.BeginPart("user"), mimeType, base64.Span);
            turns.EndPart();
            return;
        }

        throw new TranslationException($"{at}: Gemini cannot read OpenAI file ids; send the file inline as file_data (a base64 data: URL).", at);
    }

    private static void WriteInlineData(Utf8JsonWriter json, string mimeType, ReadOnlySpan<char> base64)
    {
        json.WriteStartObject("inlineData"u8);
        json.WriteString("mimeType"u8, mimeType);
        json.WriteString("data"u8, base64);
        json.WriteEndObject();
    }

    /// <summary>Splits <c>data:&lt;type&gt;[;params];base64,&lt;data&gt;</c> (RFC 2397) into the MIME type and the base64 payload.</summary>
    private static (string MimeType, ReadOnlyMemory<char> Data) DataUrl(string url, string at)
    {
        var comma = url.IndexOf(',');
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase) || comma < 0)
        {
            throw new TranslationException($"{at} must be a data: URL (data:<type>;base64,<data>).", at);
        }

        var header = url.AsSpan(5, comma - 5);
        if (!header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            throw new TranslationException($"{at} must be base64-encoded (data:<type>;base64,<data>); Gemini takes media as base64.", at);
        }

        var semicolon = header.IndexOf(';');
        var mimeType = header[..semicolon].Trim();
        if (mimeType.IsEmpty || comma == url.Length - 1)
        {
            throw new TranslationException($"{at} must name its media type and carry data (data:<type>;base64,<data>).", at);
        }

        return (mimeType.ToString(), url.AsMemory(comma + 1));
    }

    /// <summary>Gemini wants a MIME type for every file; an image URL's extension is the only hint without fetching it.</summary>
    private static string ImageTypeOf(Uri uri) => Path.GetExtension(uri.AbsolutePath).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".webp" => "image/webp",
        ".gif" => "image/gif",
        ".heic" => "image/heic",
        ".heif" => "image/heif",
        _ => "image/jpeg",
    };

    /// <summary>Writes a tool call's <c>arguments</c> string as the JSON object Gemini's <c>args</c> (a Struct) needs.</summary>
    private static void WriteArguments(Utf8JsonWriter json, string arguments, string at)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            json.WriteStartObject(); // some clients send "" for a call without arguments
            json.WriteEndObject();
            return;
        }

        using var parsed = AsJsonObject(arguments)
            ?? throw new TranslationException($"{at} must be a JSON object in a string; Gemini takes function arguments as an object.", at);
        parsed.RootElement.WriteTo(json);
    }

    /// <summary>The text parsed as a JSON object, or null when it is not one.</summary>
    private static JsonDocument? AsJsonObject(string text)
    {
        if (!text.AsSpan().TrimStart().StartsWith('{'))
        {
            return null;
        }

        try
        {
            var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }

            document.Dispose();
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // ---- tools and tool_choice ------------------------------------------------------------------

    private static HashSet<string> WriteTools(Utf8JsonWriter json, JsonElement request)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (!TryGet(request, "tools", out var tools))
        {
            return names;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            throw new TranslationException("'tools' must be an array.", "tools");
        }

        if (tools.GetArrayLength() == 0)
        {
            return names;
        }

        json.WriteStartArray("tools"u8);
        json.WriteStartObject();
        json.WriteStartArray("functionDeclarations"u8);
        var i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var at = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object)
            {
                throw new TranslationException($"{at} must be an object.", at);
            }

            var type = RequiredString(tool, "type", at);
            if (type != "function")
            {
                throw new TranslationException($"{at}.type '{type}' cannot be sent to Gemini; only function tools can.", $"{at}.type");
            }

            var function = RequiredObject(tool, "function", at);
            var name = RequiredString(function, "name", $"{at}.function");
            names.Add(name);
            json.WriteStartObject();
            json.WriteString("name"u8, name);
            if (TryGet(function, "description", out var description))
            {
                json.WriteString("description"u8, description.ValueKind == JsonValueKind.String
                    ? description.GetString()
                    : throw new TranslationException($"{at}.function.description must be a string.", $"{at}.function.description"));
            }

            if (TryGet(function, "parameters", out var parameters))
            {
                if (parameters.ValueKind != JsonValueKind.Object)
                {
                    throw new TranslationException($"{at}.function.parameters must be a JSON Schema object.", $"{at}.function.parameters");
                }

                json.WritePropertyName("parametersJsonSchema"u8);
                parameters.WriteTo(json);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndArray();
        return names;
    }

    private static void WriteToolConfig(Utf8JsonWriter json, JsonElement request, HashSet<string> functions)
    {
        if (!TryGet(request, "tool_choice", out var choice))
        {
            return;
        }

        string mode;
        string? only = null;
        if (choice.ValueKind == JsonValueKind.String)
        {
            mode = choice.GetString() switch
            {
                "auto" => "AUTO",
                "none" => "NONE",
                "required" => "ANY",
                var other => throw new TranslationException($"tool_choice '{other}' is not one of auto, none, required.", "tool_choice"),
            };
        }
        else if (choice.ValueKind == JsonValueKind.Object)
        {
            var type = RequiredString(choice, "type", "tool_choice");
            if (type != "function")
            {
                throw new TranslationException($"tool_choice of type '{type}' cannot be sent to Gemini; use auto, none, required or a named function.", "tool_choice.type");
            }

            only = RequiredString(RequiredObject(choice, "function", "tool_choice"), "name", "tool_choice.function");
            mode = "ANY";
        }
        else
        {
            throw new TranslationException("tool_choice must be a string or an object.", "tool_choice");
        }

        if (only is not null && !functions.Contains(only))
        {
            throw new TranslationException($"tool_choice names the function '{only}', which is not in 'tools'.", "tool_choice.function.name");
        }

        if (functions.Count == 0)
        {
            // Without declarations AUTO and NONE mean what no toolConfig means; ANY has nothing to call.
            if (mode == "ANY")
            {
                throw new TranslationException("tool_choice 'required' needs 'tools' to choose from.", "tool_choice");
            }

            return;
        }

        json.WriteStartObject("toolConfig"u8);
        json.WriteStartObject("functionCallingConfig"u8);
        json.WriteString("mode"u8, mode);
        if (only is not null)
        {
            json.WriteStartArray("allowedFunctionNames"u8);
            json.WriteStringValue(only);
            json.WriteEndArray();
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    // ---- generationConfig -----------------------------------------------------------------------

    private static void WriteGenerationConfig(Utf8JsonWriter json, JsonElement request)
    {
        var config = new LazyObject(json, "generationConfig");
        CopyNumber(config, request, "temperature", "temperature");
        CopyNumber(config, request, "top_p", "topP");
        var maxCompletion = PositiveInt(request, "max_completion_tokens");
        var max = PositiveInt(request, "max_tokens");
        if ((maxCompletion ?? max) is { } maxOutput)
        {
            config.Open().WriteNumber("maxOutputTokens"u8, maxOutput);
        }

        WriteStop(config, request);
        if (PositiveInt(request, "n") is { } n)
        {
            config.Open().WriteNumber("candidateCount"u8, n);
        }

        if (TryGet(request, "seed", out var seed))
        {
            // Gemini's seed is an int32; OpenAI accepts any integer.
            config.Open().WriteNumber("seed"u8, seed.ValueKind == JsonValueKind.Number && seed.TryGetInt32(out var value)
                ? value
                : throw new TranslationException("seed must be an integer between -2147483648 and 2147483647 for Gemini.", "seed"));
        }

        CopyNumber(config, request, "presence_penalty", "presencePenalty");
        CopyNumber(config, request, "frequency_penalty", "frequencyPenalty");
        WriteResponseFormat(config, request);
        config.Close();
    }

    private static void CopyNumber(LazyObject config, JsonElement request, string name, string geminiName)
    {
        if (!TryGet(request, name, out var value))
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new TranslationException($"{name} must be a number.", name);
        }

        var json = config.Open();
        json.WritePropertyName(geminiName);
        value.WriteTo(json); // the client's literal, unrounded
    }

    private static int? PositiveInt(JsonElement request, string name) =>
        !TryGet(request, name, out var value) ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) && number > 0 ? number
        : throw new TranslationException($"{name} must be a positive integer.", name);

    private static void WriteStop(LazyObject config, JsonElement request)
    {
        if (!TryGet(request, "stop", out var stop))
        {
            return;
        }

        if (stop.ValueKind == JsonValueKind.String)
        {
            var json = config.Open();
            json.WriteStartArray("stopSequences"u8);
            json.WriteStringValue(stop.GetString());
            json.WriteEndArray();
            return;
        }

        if (stop.ValueKind != JsonValueKind.Array || stop.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String))
        {
            throw new TranslationException("stop must be a string or an array of strings.", "stop");
        }

        if (stop.GetArrayLength() > 0)
        {
            var json = config.Open();
            json.WritePropertyName("stopSequences"u8);
            stop.WriteTo(json);
        }
    }

    private static void WriteResponseFormat(LazyObject config, JsonElement request)
    {
        if (!TryGet(request, "response_format", out var format))
        {
            return;
        }

        if (format.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException("response_format must be an object.", "response_format");
        }

        switch (RequiredString(format, "type", "response_format"))
        {
            case "text":
                return;
            case "json_object":
                config.Open().WriteString("responseMimeType"u8, "application/json"u8);
                return;
            case "json_schema":
                var schema = RequiredObject(format, "json_schema", "response_format");
                var json = config.Open();
                json.WriteString("responseMimeType"u8, "application/json"u8);
                if (TryGet(schema, "schema", out var jsonSchema))
                {
                    if (jsonSchema.ValueKind != JsonValueKind.Object)
                    {
                        throw new TranslationException("response_format.json_schema.schema must be a JSON Schema object.", "response_format.json_schema.schema");
                    }

                    json.WritePropertyName("responseJsonSchema"u8);
                    jsonSchema.WriteTo(json);
                }

                return;
            case var type:
                throw new TranslationException($"response_format type '{type}' is not one of text, json_object, json_schema.", "response_format.type");
        }
    }

    // ---- reading helpers --------------------------------------------------------------------------

    /// <summary>True when <paramref name="obj"/> has <paramref name="name"/> with a non-null value (OpenAI treats null as absent).</summary>
    private static bool TryGet(JsonElement obj, string name, out JsonElement value) =>
        obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    private static string RequiredString(JsonElement obj, string name, string at) =>
        TryGet(obj, name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new TranslationException($"{at}.{name} is required and must be a string.", $"{at}.{name}");

    private static JsonElement RequiredObject(JsonElement obj, string name, string at) =>
        TryGet(obj, name, out var value) && value.ValueKind == JsonValueKind.Object
            ? value
            : throw new TranslationException($"{at}.{name} is required and must be an object.", $"{at}.{name}");

    /// <summary>
    /// Writes <c>contents</c> while merging consecutive parts of one role into one Content, opening
    /// a turn only when a part is written so that messages without parts leave no empty turn.
    /// </summary>
    private sealed class Turns(Utf8JsonWriter json)
    {
        private string? _role;

        /// <summary>How many turns were written.</summary>
        public int Count { get; private set; }

        /// <summary>Opens a part in a turn of <paramref name="role"/>; write its fields, then call <see cref="EndPart"/>.</summary>
        public Utf8JsonWriter BeginPart(string role)
        {
            if (_role != role)
            {
                Close();
                json.WriteStartObject();
                json.WriteString("role"u8, role);
                json.WriteStartArray("parts"u8);
                _role = role;
                Count++;
            }

            json.WriteStartObject();
            return json;
        }

        /// <summary>Closes the part <see cref="BeginPart"/> opened.</summary>
        public void EndPart() => json.WriteEndObject();

        /// <summary>Closes the open turn, if any.</summary>
        public void Close()
        {
            if (_role is not null)
            {
                json.WriteEndArray();
                json.WriteEndObject();
                _role = null;
            }
        }
    }

    /// <summary>An object property written only once something goes in it (Gemini needs no empty generationConfig).</summary>
    private sealed class LazyObject(Utf8JsonWriter json, string name)
    {
        private bool _open;

        /// <summary>Opens the object on first use and returns the writer positioned inside it.</summary>
        public Utf8JsonWriter Open()
        {
            if (!_open)
            {
                json.WriteStartObject(name);
                _open = true;
            }

            return json;
        }

        /// <summary>Closes the object if it was opened.</summary>
        public void Close()
        {
            if (_open)
            {
                json.WriteEndObject();
            }
        }
    }
}
