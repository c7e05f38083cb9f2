using System.Buffers;
using System.Text.Json;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Providers.Anthropic;

/// <summary>
/// Translates an OpenAI Chat Completions request body into an Anthropic Messages API request body
/// (<c>POST /v1/messages</c>).
/// </summary>
/// <remarks>
/// <para>
/// Messages: <c>system</c> and <c>developer</c> messages become the top-level <c>system</c>, in
/// order, wherever they stood (a string when there is one text, else text blocks). Anthropic has
/// no system role and wants user and assistant turns to alternate, so consecutive messages of the
/// same Anthropic role are merged into one message's content blocks; <c>tool</c> messages become
/// <c>tool_result</c> blocks of a user turn; assistant <c>tool_calls</c> become <c>tool_use</c>
/// blocks after the assistant's text. Empty texts are left out (Anthropic rejects empty text blocks).
/// </para>
/// <para>
/// <c>temperature</c> is passed as it is although OpenAI allows 0..2 and Anthropic 0..1: rescaling
/// would change the meaning of values both accept and clamping would hide the client's mistake, so
/// Anthropic answers a value above 1 with its own 400.
/// </para>
/// <para>
/// <c>response_format</c>: <c>json_object</c> appends <see cref="JsonObjectInstruction"/> to the
/// system prompt (Anthropic has no JSON mode that works on every model). <c>json_schema</c> uses
/// Anthropic's forced-tool technique: a tool named <see cref="JsonResponseTool"/> whose
/// <c>input_schema</c> is the schema, and a <c>tool_choice</c> that makes the model call it (that
/// tool when the client has no tools or chose <c>none</c>, <c>any</c> when the model may still
/// pick one of the client's tools, the client's named tool when it named one). The response and
/// stream translators turn that tool's input back into the assistant's text.
/// </para>
/// <para>
/// Dropped because Anthropic has no equivalent and rejects unknown fields: <c>seed</c>,
/// <c>frequency_penalty</c>, <c>presence_penalty</c>, <c>logprobs</c>, <c>top_logprobs</c>,
/// <c>logit_bias</c>, <c>stream_options</c> (the caller reads it to build the stream translator),
/// <c>store</c>, <c>metadata</c> (OpenAI's is for stored completions), <c>service_tier</c>,
/// <c>reasoning_effort</c>, <c>modalities</c>, <c>audio</c>, <c>prediction</c>,
/// <c>web_search_options</c>, <c>prompt_cache_key</c>, <c>verbosity</c> and every unknown field;
/// inside messages: <c>name</c>, an assistant's <c>refusal</c>, an image's <c>detail</c>; inside
/// tools: <c>function.strict</c> (Anthropic's <c>strict</c> is not available on every model);
/// <c>tool_choice</c> and <c>parallel_tool_calls</c> when there are no tools.
/// </para>
/// </remarks>
internal static class AnthropicRequestTranslator
{
    /// <summary>
    /// Name of the tool that carries a <c>json_schema</c> response. Reserved: a client tool of this
    /// name is refused, because the response translators turn every call of it into text.
    /// </summary>
    public const string JsonResponseTool = "json_response";

    /// <summary>What <c>response_format: json_object</c> adds to the system prompt.</summary>
    public const string JsonObjectInstruction =
        "Respond with a single valid JSON object and nothing else: no prose before or after it and no Markdown code fences.";

    private static readonly string[] ImageMediaTypes = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    /// <summary>Translates <paramref name="openAiChatRequest"/> into a Messages API body for <paramref name="providerModel"/>.</summary>
    /// <param name="openAiChatRequest">A complete Chat Completions request body.</param>
    /// <param name="providerModel">The model name Anthropic knows (sent as <c>model</c>).</param>
    /// <param name="defaultMaxTokens">Sent as <c>max_tokens</c> (which Anthropic requires) when the client gave neither <c>max_completion_tokens</c> nor <c>max_tokens</c>.</param>
    /// <exception cref="TranslationException">The request is invalid or asks for something Anthropic cannot do.</exception>
    public static byte[] Translate(ReadOnlySpan<byte> openAiChatRequest, string providerModel, int defaultMaxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(defaultMaxTokens, 1);
        using var document = AnthropicJson.TryParse(openAiChatRequest) ?? throw new TranslationException("The request body is not valid JSON.");
        var request = document.RootElement;
        if (request.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException("The request body must be a JSON object.");
        }

        if (AnthropicJson.Get(request, "messages") is not { ValueKind: JsonValueKind.Array } messages || messages.GetArrayLength() == 0)
        {
            throw new TranslationException("'messages' is required and must be a non-empty array.", "messages");
        }

        RejectInexpressible(request);
        var jsonSchema = ReadResponseFormat(request, out var jsonObject);

        var output = new ArrayBufferWriter<byte>(openAiChatRequest.Length + 256);
        using (var json = new Utf8JsonWriter(output, SseEventWriter.JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("model", providerModel);
            json.WriteNumber("max_tokens", MaxTokens(request, defaultMaxTokens));
            WriteSystem(json, messages, jsonObject);
            WriteMessages(json, messages);
            WriteTools(json, request, jsonSchema);
            WriteSampling(json, request);
            json.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    private static void RejectInexpressible(JsonElement request)
    {
        if (AnthropicJson.Get(request, "n") is { } n && (n.ValueKind != JsonValueKind.Number || !n.TryGetInt32(out var count) || count != 1))
        {
            throw new TranslationException("Anthropic models return exactly one choice: set 'n' to 1 or leave it out.", "n");
        }

        foreach (var legacy in (ReadOnlySpan<string>)["functions", "function_call"])
        {
            if (AnthropicJson.Get(request, legacy) is not null)
            {
                throw new TranslationException($"'{legacy}' is deprecated and not supported for Anthropic models; use 'tools' and 'tool_choice'.", legacy);
            }
        }
    }

    private static int MaxTokens(JsonElement request, int defaultMaxTokens)
    {
        // max_completion_tokens replaced max_tokens in OpenAI's API; when both are sent the newer one wins.
        foreach (var name in (ReadOnlySpan<string>)["max_completion_tokens", "max_tokens"])
        {
            if (AnthropicJson.Get(request, name) is { } value)
            {
                return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var tokens) && tokens >= 1
                    ? tokens
                    : throw new TranslationException($"'{name}' must be a positive integer.", name);
            }
        }

        return defaultMaxTokens;
    }

    /// <summary>Validates <c>response_format</c>; returns its <c>json_schema</c> object when it asks for one.</summary>
    private static JsonElement? ReadResponseFormat(JsonElement request, out bool jsonObject)
    {
        jsonObject = false;
        if (AnthropicJson.Get(request, "response_format") is not { } format)
        {
            return null;
        }

        switch (AnthropicJson.String(format, "type"))
        {
            case "text":
                return null;
            case "json_object":
                jsonObject = true;
                return null;
            case "json_schema":
                var jsonSchema = AnthropicJson.Get(format, "json_schema") is { ValueKind: JsonValueKind.Object } definition
                    ? definition
                    : throw new TranslationException("'response_format.json_schema' is required and must be an object when the type is 'json_schema'.", "response_format.json_schema");
                if (AnthropicJson.Get(jsonSchema, "schema") is { } schema
                    && (schema.ValueKind != JsonValueKind.Object || (AnthropicJson.String(schema, "type") ?? "object") != "object"))
                {
                    throw new TranslationException("Anthropic models produce structured output as a tool input, which must be a JSON object: the schema's root 'type' must be 'object'.", "response_format.json_schema.schema");
                }

                return jsonSchema;
            default:
                throw new TranslationException("'response_format.type' must be 'text', 'json_object' or 'json_schema'.", "response_format.type");
        }
    }

    private static void WriteSystem(Utf8JsonWriter json, JsonElement messages, bool jsonObject)
    {
        var texts = new List<string>();
        for (var i = 0; i < messages.GetArrayLength(); i++)
        {
            var message = messages[i];
            if (AnthropicJson.String(message, "role") is "system" or "developer")
            {
                texts.AddRange(Texts(message, $"messages[{i}].content", allowRefusal: false));
            }
        }

        if (jsonObject)
        {
            texts.Add(JsonObjectInstruction);
        }

        WriteTexts(json, "system", texts);
    }

    private static void WriteMessages(Utf8JsonWriter json, JsonElement messages)
    {
        json.WriteStartArray("messages");
        var turns = new Turns(json);
        for (var i = 0; i < messages.GetArrayLength(); i++)
        {
            var message = messages[i];
            var param = $"messages[{i}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw new TranslationException($"'{param}' must be an object.", param);
            }

            switch (AnthropicJson.String(message, "role"))
            {
                case "system" or "developer":
                    break; // already in the top-level system
                case "user":
                    WriteUserContent(turns, message, param);
                    break;
                case "assistant":
                    WriteAssistant(turns, message, param);
                    break;
                case "tool":
                    WriteToolResult(turns, message, param);
                    break;
                case "function":
                    throw new TranslationException($"'{param}': the 'function' role is deprecated and not supported for Anthropic models; use 'tool' messages.", $"{param}.role");
                default:
                    throw new TranslationException($"'{param}.role' must be one of 'system', 'developer', 'user', 'assistant' or 'tool'.", $"{param}.role");
            }
        }

        if (!turns.Close())
        {
            throw new TranslationException("Anthropic models need at least one non-empty user or assistant message besides system messages.", "messages");
        }

        json.WriteEndArray();
    }

    private static void WriteUserContent(Turns turns, JsonElement message, string param)
    {
        var content = AnthropicJson.Get(message, "content");
        if (content is { ValueKind: JsonValueKind.String } text)
        {
            turns.WriteText("user", text.GetString()!);
            return;
        }

        if (content is not { ValueKind: JsonValueKind.Array } parts)
        {
            throw new TranslationException($"'{param}.content' must be a string or an array of content parts.", $"{param}.content");
        }

        for (var j = 0; j < parts.GetArrayLength(); j++)
        {
            var part = parts[j];
            var partParam = $"{param}.content[{j}]";
            switch (AnthropicJson.String(part, "type"))
            {
                case "text":
                    turns.WriteText("user", PartText(part, partParam));
                    break;
                case "image_url":
                    WriteImage(turns.Open("user"), part, partParam);
                    break;
                case { } other:
                    throw new TranslationException($"'{partParam}': content part type '{other}' is not supported for Anthropic models; use 'text' or 'image_url'.", partParam);
                default:
                    throw new TranslationException($"'{partParam}.type' is required.", partParam);
            }
        }
    }

    /// <summary>Writes an image block from an <c>image_url</c> part: a base64 source for a data URL, a url source for http(s).</summary>
    private static void WriteImage(Utf8JsonWriter json, JsonElement part, string param)
    {
        // OpenAI documents image_url as {"url","detail"}; a bare string is accepted too, as some clients send one.
        var image = AnthropicJson.Get(part, "image_url");
        var url = image is { ValueKind: JsonValueKind.String } bare ? bare.GetString() : image is { } value ? AnthropicJson.String(value, "url") : null;
        if (string.IsNullOrEmpty(url))
        {
            throw new TranslationException($"'{param}.image_url.url' is required.", param);
        }

        json.WriteStartObject();
        json.WriteString("type", "image");
        json.WriteStartObject("source");
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var header = comma < 0 ? "" : url[5..comma];
            if (!header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw new TranslationException($"'{param}.image_url.url' must be a base64 data URL ('data:image/png;base64,...') or an http(s) URL.", param);
            }

            var mediaType = header[..^";base64".Length].ToLowerInvariant();
            if (!ImageMediaTypes.Contains(mediaType))
            {
                throw new TranslationException($"'{param}': image type '{mediaType}' is not supported by Anthropic models; use {string.Join(", ", ImageMediaTypes)}.", param);
            }

            json.WriteString("type", "base64");
            json.WriteString("media_type", mediaType);
            json.WriteString("data", url.AsSpan(comma + 1));
        }
        else if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            json.WriteString("type", "url");
            json.WriteString("url", url);
        }
        else
        {
            throw new TranslationException($"'{param}.image_url.url' must be a base64 data URL ('data:image/png;base64,...') or an http(s) URL.", param);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteAssistant(Turns turns, JsonElement message, string param)
    {
        foreach (var text in Texts(message, $"{param}.content", allowRefusal: true))
        {
            turns.WriteText("assistant", text);
        }

        if (AnthropicJson.Get(message, "tool_calls") is not { } toolCalls)
        {
            return;
        }

        if (toolCalls.ValueKind != JsonValueKind.Array)
        {
            throw new TranslationException($"'{param}.tool_calls' must be an array.", $"{param}.tool_calls");
        }

        for (var k = 0; k < toolCalls.GetArrayLength(); k++)
        {
            var call = toolCalls[k];
            var callParam = $"{param}.tool_calls[{k}]";
            var function = AnthropicJson.Get(call, "function");
            var id = AnthropicJson.String(call, "id");
            var name = function is { } f ? AnthropicJson.String(f, "name") : null;
            if (AnthropicJson.String(call, "type") is { } type && type != "function")
            {
                throw new TranslationException($"'{callParam}.type': tool call type '{type}' is not supported for Anthropic models; use 'function'.", $"{callParam}.type");
            }

            if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(name))
            {
                throw new TranslationException($"'{callParam}' needs an 'id' and a 'function.name'.", callParam);
            }

            using var input = ParseArguments(function!.Value, $"{callParam}.function.arguments");
            var json = turns.Open("assistant");
            json.WriteStartObject();
            json.WriteString("type", "tool_use");
            json.WriteString("id", id);
            json.WriteString("name", name);
            json.WritePropertyName("input");
            input.RootElement.WriteTo(json);
            json.WriteEndObject();
        }
    }

    /// <summary>Parses a tool call's <c>arguments</c> string: Anthropic wants the input itself, as a JSON object.</summary>
    private static JsonDocument ParseArguments(JsonElement function, string param)
    {
        var arguments = AnthropicJson.Get(function, "arguments");
        if (arguments is { ValueKind: not JsonValueKind.String })
        {
            throw new TranslationException($"'{param}' must be a string holding a JSON object.", param);
        }

        // An empty or missing arguments string is how some clients record a call without parameters.
        var text = arguments?.GetString();
        if (string.IsNullOrWhiteSpace(text))
        {
            text = "{}";
        }

        try
        {
            var input = JsonDocument.Parse(text);
            if (input.RootElement.ValueKind == JsonValueKind.Object)
            {
                return input;
            }

            input.Dispose();
        }
        catch (JsonException)
        {
            // Reported below with the same message as a non-object.
        }

        throw new TranslationException($"'{param}' must be a JSON object serialised as a string; Anthropic needs the tool input as an object.", param);
    }

    private static void WriteToolResult(Turns turns, JsonElement message, string param)
    {
        var toolCallId = AnthropicJson.String(message, "tool_call_id");
        if (string.IsNullOrEmpty(toolCallId))
        {
            throw new TranslationException($"'{param}.tool_call_id' is required for tool messages.", $"{param}.tool_call_id");
        }

        var texts = Texts(message, $"{param}.content", allowRefusal: false);
        var json = turns.Open("user");
        json.WriteStartObject();
        json.WriteString("type", "tool_result");
        json.WriteString("tool_use_id", toolCallId);
        WriteTexts(json, "content", texts);
        json.WriteEndObject();
    }

    private static void WriteTools(Utf8JsonWriter json, JsonElement request, JsonElement? jsonSchema)
    {
        var tools = AnthropicJson.Get(request, "tools");
        if (tools is { ValueKind: not JsonValueKind.Array })
        {
            throw new TranslationException("'tools' must be an array.", "tools");
        }

        var clientTools = tools?.GetArrayLength() ?? 0;
        var choice = ReadToolChoice(request);
        if (clientTools == 0 && jsonSchema is null)
        {
            return;
        }

        json.WriteStartArray("tools");
        for (var i = 0; i < clientTools; i++)
        {
            WriteTool(json, tools!.Value[i], $"tools[{i}]");
        }

        if (jsonSchema is { } definition)
        {
            WriteJsonResponseTool(json, definition);
            choice = choice switch
            {
                // The model must answer through a tool; it may still choose a client tool unless told otherwise.
                null or ("auto", _) => clientTools > 0 ? ("any", null) : ("tool", JsonResponseTool),
                ("none", _) => ("tool", JsonResponseTool),
                ("any", _) when clientTools == 0 => ("tool", JsonResponseTool),
                _ => choice,
            };
        }

        json.WriteEndArray();

        var parallel = AnthropicJson.Get(request, "parallel_tool_calls");
        var disableParallel = parallel is { ValueKind: JsonValueKind.False };
        if (choice is null && disableParallel)
        {
            choice = ("auto", null);
        }

        if (choice is var (type, name))
        {
            json.WriteStartObject("tool_choice");
            json.WriteString("type", type);
            if (name is not null)
            {
                json.WriteString("name", name);
            }

            if (disableParallel && type != "none")
            {
                json.WriteBoolean("disable_parallel_tool_use", true);
            }

            json.WriteEndObject();
        }
    }

    private static void WriteTool(Utf8JsonWriter json, JsonElement tool, string param)
    {
        var type = AnthropicJson.String(tool, "type");
        if (type != "function")
        {
            throw new TranslationException(
                type is null ? $"'{param}.type' is required and must be 'function'." : $"'{param}.type': tool type '{type}' is not supported for Anthropic models; use 'function'.",
                $"{param}.type");
        }

        var function = AnthropicJson.Get(tool, "function") is { ValueKind: JsonValueKind.Object } f
            ? f
            : throw new TranslationException($"'{param}.function' is required.", $"{param}.function");
        var name = AnthropicJson.String(function, "name");
        if (string.IsNullOrEmpty(name))
        {
            throw new TranslationException($"'{param}.function.name' is required.", $"{param}.function.name");
        }

        if (name == JsonResponseTool)
        {
            throw new TranslationException($"'{param}.function.name': the name '{JsonResponseTool}' is reserved by the gateway for 'response_format' on Anthropic models; rename the tool.", $"{param}.function.name");
        }

        json.WriteStartObject();
        json.WriteString("name", name);
        if (AnthropicJson.String(function, "description") is { } description)
        {
            json.WriteString("description", description);
        }

        WriteInputSchema(json, AnthropicJson.Get(function, "parameters"));
        json.WriteEndObject();
    }

    private static void WriteJsonResponseTool(Utf8JsonWriter json, JsonElement definition)
    {
        var name = AnthropicJson.String(definition, "name") ?? "response";
        var description = AnthropicJson.String(definition, "description");
        json.WriteStartObject();
        json.WriteString("name", JsonResponseTool);
        json.WriteString("description", $"Give your final answer by calling this tool: its input is the JSON response '{name}'." + (description is null ? "" : $" {description}"));
        WriteInputSchema(json, AnthropicJson.Get(definition, "schema"));
        json.WriteEndObject();
    }

    /// <summary>Writes <c>input_schema</c>; Anthropic requires one, so a function without parameters gets an empty object schema.</summary>
    private static void WriteInputSchema(Utf8JsonWriter json, JsonElement? schema)
    {
        json.WritePropertyName("input_schema");
        if (schema is { } given)
        {
            given.WriteTo(json);
            return;
        }

        json.WriteStartObject();
        json.WriteString("type", "object");
        json.WriteStartObject("properties");
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Reads <c>tool_choice</c> as Anthropic's (type, name): auto, any, none or tool.</summary>
    private static (string Type, string? Name)? ReadToolChoice(JsonElement request)
    {
        var choice = AnthropicJson.Get(request, "tool_choice");
        switch (choice)
        {
            case null:
                return null;
            case { ValueKind: JsonValueKind.String } mode:
                return mode.GetString() switch
                {
                    "auto" => ("auto", null),
                    "required" => ("any", null),
                    "none" => ("none", null),
                    _ => throw new TranslationException("'tool_choice' must be 'auto', 'required', 'none' or a function choice.", "tool_choice"),
                };
            case { } named when AnthropicJson.String(named, "type") == "function":
                var name = AnthropicJson.Get(named, "function") is { } function ? AnthropicJson.String(function, "name") : null;
                return string.IsNullOrEmpty(name)
                    ? throw new TranslationException("'tool_choice.function.name' is required.", "tool_choice.function.name")
                    : ("tool", name);
            default:
                throw new TranslationException("'tool_choice' is not supported for Anthropic models in this form; use 'auto', 'required', 'none' or {\"type\":\"function\",\"function\":{\"name\":...}}.", "tool_choice");
        }
    }

    private static void WriteSampling(Utf8JsonWriter json, JsonElement request)
    {
        foreach (var name in (ReadOnlySpan<string>)["temperature", "top_p"])
        {
            if (AnthropicJson.Get(request, name) is { } value)
            {
                if (value.ValueKind != JsonValueKind.Number)
                {
                    throw new TranslationException($"'{name}' must be a number.", name);
                }

                json.WritePropertyName(name);
                value.WriteTo(json);
            }
        }

        WriteStopSequences(json, request);

        if (AnthropicJson.Get(request, "stream") is { } stream)
        {
            json.WriteBoolean("stream", stream.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new TranslationException("'stream' must be a boolean.", "stream"),
            });
        }

        // safety_identifier is OpenAI's successor to user for the same purpose as Anthropic's metadata.user_id: abuse detection.
        if ((AnthropicJson.String(request, "safety_identifier") ?? AnthropicJson.String(request, "user")) is { Length: > 0 } user)
        {
            json.WriteStartObject("metadata");
            json.WriteString("user_id", user);
            json.WriteEndObject();
        }
    }

    private static void WriteStopSequences(Utf8JsonWriter json, JsonElement request)
    {
        switch (AnthropicJson.Get(request, "stop"))
        {
            case null:
                return;
            case { ValueKind: JsonValueKind.String } one:
                json.WriteStartArray("stop_sequences");
                json.WriteStringValue(one.GetString());
                json.WriteEndArray();
                return;
            case { ValueKind: JsonValueKind.Array } many:
                if (many.GetArrayLength() == 0)
                {
                    return;
                }

                json.WriteStartArray("stop_sequences");
                foreach (var sequence in many.EnumerateArray())
                {
                    json.WriteStringValue(sequence.ValueKind == JsonValueKind.String
                        ? sequence.GetString()
                        : throw new TranslationException("'stop' must be a string or an array of strings.", "stop"));
                }

                json.WriteEndArray();
                return;
            default:
                throw new TranslationException("'stop' must be a string or an array of strings.", "stop");
        }
    }

    /// <summary>The non-empty texts of a content that may only hold text: a string, or an array of <c>text</c> (and for assistants <c>refusal</c>) parts.</summary>
    private static List<string> Texts(JsonElement message, string param, bool allowRefusal)
    {
        var texts = new List<string>();
        switch (AnthropicJson.Get(message, "content"))
        {
            case null:
                break;
            case { ValueKind: JsonValueKind.String } text:
                texts.Add(text.GetString()!);
                break;
            case { ValueKind: JsonValueKind.Array } parts:
                for (var j = 0; j < parts.GetArrayLength(); j++)
                {
                    var part = parts[j];
                    var partParam = $"{param}[{j}]";
                    texts.Add(AnthropicJson.String(part, "type") switch
                    {
                        "text" => PartText(part, partParam),
                        "refusal" when allowRefusal => AnthropicJson.String(part, "refusal") ?? "",
                        var type => throw new TranslationException($"'{partParam}': content part type '{type ?? "(none)"}' is not supported here; only text parts are.", partParam),
                    });
                }

                break;
            default:
                throw new TranslationException($"'{param}' must be a string or an array of text parts.", param);
        }

        texts.RemoveAll(string.IsNullOrEmpty);
        return texts;
    }

    private static string PartText(JsonElement part, string param) =>
        AnthropicJson.String(part, "text") ?? throw new TranslationException($"'{param}.text' is required and must be a string.", $"{param}.text");

    /// <summary>Writes a member that Anthropic accepts as a string or as text blocks: one text as a string, several as blocks, none not at all.</summary>
    private static void WriteTexts(Utf8JsonWriter json, string name, List<string> texts)
    {
        if (texts.Count == 1)
        {
            json.WriteString(name, texts[0]);
        }
        else if (texts.Count > 1)
        {
            json.WriteStartArray(name);
            foreach (var text in texts)
            {
                WriteText(json, text);
            }

            json.WriteEndArray();
        }
    }

    private static void WriteText(Utf8JsonWriter json, string text)
    {
        json.WriteStartObject();
        json.WriteString("type", "text");
        json.WriteString("text", text);
        json.WriteEndObject();
    }

    /// <summary>
    /// Writes the Anthropic messages one content block at a time, opening a new message only when
    /// the role changes: consecutive same-role messages merge, and an OpenAI message that yields no
    /// block opens none.
    /// </summary>
    private sealed class Turns(Utf8JsonWriter json)
    {
        private string? _role;
        private bool _wrote;

        /// <summary>Makes sure a message of <paramref name="role"/> is open; returns the writer positioned in its content array.</summary>
        public Utf8JsonWriter Open(string role)
        {
            if (_role != role)
            {
                Close();
                json.WriteStartObject();
                json.WriteString("role", role);
                json.WriteStartArray("content");
                _role = role;
            }

            return json;
        }

        /// <summary>Writes a text block unless <paramref name="text"/> is empty.</summary>
        public void WriteText(string role, string text)
        {
            if (text.Length > 0)
            {
                AnthropicRequestTranslator.WriteText(Open(role), text);
            }
        }

        /// <summary>Closes the open message; returns whether any message was written at all.</summary>
        public bool Close()
        {
            if (_role is not null)
            {
                json.WriteEndArray();
                json.WriteEndObject();
                _wrote = true;
                _role = null;
            }

            return _wrote;
        }
    }
}
