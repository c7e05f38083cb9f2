using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Providers;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Messages;

/// <summary>
/// Turns a request in Anthropic's Messages format (<c>POST /v1/messages</c>) into an OpenAI chat
/// completions request, the router's canonical format, keeping the client's <c>model</c> string
/// for the router to resolve. Validates as Anthropic does and throws
/// <see cref="TranslationException"/> (answered 400) for anything wrong or inexpressible.
/// </summary>
/// <remarks>
/// <para>Mapping choices (Anthropic Messages API reference → OpenAI chat completions reference):</para>
/// <list type="bullet">
/// <item><c>system</c> (string or text blocks) becomes a first <c>system</c> message, and a
/// <c>system</c>-role message in <c>messages</c> a system message in its place; several blocks
/// are joined with a newline.</item>
/// <item>Text-only content becomes a string (blocks joined with a newline), because every
/// OpenAI-compatible server accepts string content while some reject content-part arrays;
/// content with images becomes <c>text</c> and <c>image_url</c> parts (base64 sources as
/// <c>data:</c> URLs).</item>
/// <item><c>tool_result</c> blocks become <c>tool</c> messages placed before the rest of their
/// user message, because OpenAI requires tool messages right after the assistant's
/// <c>tool_calls</c>. OpenAI has no error flag on a tool message, so <c>is_error: true</c> prefixes
/// the content with <c>"Error: "</c>. Tool messages carry text only, so images in a tool result
/// move to the user message that follows them.</item>
/// <item><c>thinking</c> and <c>redacted_thinking</c> blocks are dropped: their signatures mean
/// nothing to another provider, and chat completions has no field for earlier reasoning.</item>
/// <item><c>max_tokens</c> stays <c>max_tokens</c> rather than <c>max_completion_tokens</c>: the
/// widest set of OpenAI-compatible servers accepts it.</item>
/// <item><c>stream: true</c> adds <c>stream_options.include_usage</c> so the stream ends with the
/// usage that <c>message_delta</c> reports.</item>
/// <item><c>tool_choice</c> and <c>parallel_tool_calls</c> are written only with tools, because
/// OpenAI rejects them without.</item>
/// <item>Structured outputs, <c>output_config.format</c> <c>{"type": "json_schema", "schema"}</c>,
/// become <c>response_format</c> <c>json_schema</c> named <c>output</c> with <c>strict: true</c>
/// (Anthropic guarantees the schema too); a tool's <c>strict</c> becomes the function's.</item>
/// <item>Dropped: <c>top_k</c> (no chat completions field), <c>thinking</c> and
/// <c>output_config.effort</c> (no portable equivalent), <c>cache_control</c> (OpenAI-style
/// providers cache on their own), <c>service_tier</c> and other fields chat completions does not
/// know.</item>
/// <item>A final assistant message (Anthropic's prefill) is sent as is; OpenAI-compatible servers
/// differ in whether they continue it.</item>
/// </list>
/// </remarks>
internal static class MessagesRequestTranslator
{
    private const string UserBlocksHint = "in a user message an OpenAI-compatible model takes only text, image and tool_result blocks";

    /// <summary>Translates <paramref name="anthropicRequest"/>; throws <see cref="TranslationException"/> when it is invalid.</summary>
    public static byte[] Translate(ReadOnlySpan<byte> anthropicRequest)
    {
        using var document = Parse(anthropicRequest);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException("The request body must be a JSON object with 'model', 'max_tokens' and 'messages'.");
        }

        var model = ReadModel(root);
        var maxTokens = ReadMaxTokens(root);
        if (!TryGet(root, "messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw new TranslationException("'messages' is required: a non-empty array of {\"role\": \"user\" or \"assistant\", \"content\": ...} objects.", "messages");
        }

        var buffer = new ArrayBufferWriter<byte>(anthropicRequest.Length + 256);
        using (var json = new Utf8JsonWriter(buffer, SseEventWriter.JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("model"u8, model);
            json.WriteStartArray("messages"u8);
            WriteSystem(root, json);
            var index = 0;
            foreach (var message in messages.EnumerateArray())
            {
                WriteMessage(message, $"messages[{index++}]", json);
            }

            json.WriteEndArray();
            json.WriteNumber("max_tokens"u8, maxTokens);
            CopyNumber(root, "temperature", json);
            CopyNumber(root, "top_p", json);
            WriteStop(root, json);
            WriteStream(root, json);
            WriteUser(root, json);
            WriteTools(root, json);
            WriteResponseFormat(root, json);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static JsonDocument Parse(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 128 });
            var document = JsonDocument.ParseValue(ref reader);
            try
            {
                // Anything after the value other than whitespace is invalid JSON; Read throws on it.
                while (reader.Read())
                {
                }
            }
            catch
            {
                document.Dispose();
                throw;
            }

            return document;
        }
        catch (JsonException e)
        {
            throw new TranslationException($"The request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).");
        }
    }

    private static string ReadModel(JsonElement root)
    {
        if (!TryGet(root, "model", out var model))
        {
            throw new TranslationException("'model' is required: the model to answer, e.g. \"gpt-4o-mini\".", "model");
        }

        var value = model.ValueKind == JsonValueKind.String ? model.GetString() : null;
        return string.IsNullOrEmpty(value)
            ? throw new TranslationException("'model' must be a non-empty string, e.g. \"gpt-4o-mini\".", "model")
            : value;
    }

    private static long ReadMaxTokens(JsonElement root)
    {
        if (!TryGet(root, "max_tokens", out var maxTokens))
        {
            throw new TranslationException("'max_tokens' is required: the most tokens the model may generate, e.g. 1024.", "max_tokens");
        }

        return maxTokens.ValueKind == JsonValueKind.Number && maxTokens.TryGetInt64(out var value) && value > 0
            ? value
            : throw new TranslationException("'max_tokens' must be a positive integer, e.g. 1024.", "max_tokens");
    }

    private static void WriteSystem(JsonElement root, Utf8JsonWriter json)
    {
        if (TryGet(root, "system", out var system))
        {
            WriteSystemMessage(system, "system", json);
        }
    }

    /// <summary>A system prompt (string or text blocks) as one system message; none when empty.</summary>
    private static void WriteSystemMessage(JsonElement content, string path, Utf8JsonWriter json)
    {
        string text;
        if (content.ValueKind == JsonValueKind.String)
        {
            text = content.GetString()!;
        }
        else if (content.ValueKind == JsonValueKind.Array)
        {
            var joined = new StringBuilder();
            var index = 0;
            foreach (var block in content.EnumerateArray())
            {
                var blockPath = $"{path}[{index++}]";
                if (BlockType(block, blockPath) != "text")
                {
                    throw new TranslationException($"'{blockPath}.type' must be \"text\": a system prompt takes only text blocks.", blockPath + ".type");
                }

                AppendLine(joined, BlockText(block, blockPath));
            }

            text = joined.ToString();
        }
        else
        {
            throw new TranslationException($"'{path}' must be a string or an array of text blocks.", path);
        }

        if (text.Length > 0)
        {
            json.WriteStartObject();
            json.WriteString("role"u8, "system"u8);
            json.WriteString("content"u8, text);
            json.WriteEndObject();
        }
    }

    private static void WriteMessage(JsonElement message, string path, Utf8JsonWriter json)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException($"'{path}' must be an object with 'role' and 'content'.", path);
        }

        var role = TryGet(message, "role", out var roleValue) && roleValue.ValueKind == JsonValueKind.String ? roleValue.GetString() : null;
        if (role is not ("user" or "assistant" or "system"))
        {
            throw new TranslationException($"'{path}.role' must be \"user\", \"assistant\" or \"system\"{(role is null ? "" : $", not \"{role}\"")}.", path + ".role");
        }

        if (!TryGet(message, "content", out var content) || content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            throw new TranslationException($"'{path}.content' must be a string or an array of content blocks.", path + ".content");
        }

        if (role == "system")
        {
            WriteSystemMessage(content, path + ".content", json);
        }
        else if (content.ValueKind == JsonValueKind.String)
        {
            json.WriteStartObject();
            json.WriteString("role"u8, role);
            json.WriteString("content"u8, content.GetString());
            json.WriteEndObject();
        }
        else if (role == "user")
        {
            WriteUserBlocks(content, path + ".content", json);
        }
        else
        {
            WriteAssistantBlocks(content, path + ".content", json);
        }
    }

    /// <summary>Tool results first, as <c>tool</c> messages, then one user message with the rest.</summary>
    private static void WriteUserBlocks(JsonElement blocks, string path, Utf8JsonWriter json)
    {
        // Images from tool results lead the user message, ahead of the turn's own text and images.
        var content = new List<Part>();
        var ownParts = new List<Part>();
        var hadToolResults = false;
        var index = 0;
        foreach (var block in blocks.EnumerateArray())
        {
            var blockPath = $"{path}[{index++}]";
            switch (BlockType(block, blockPath))
            {
                case "text":
                    ownParts.Add(new Part(false, BlockText(block, blockPath)));
                    break;
                case "image":
                    ownParts.Add(new Part(true, ImageUrl(block, blockPath)));
                    break;
                case "tool_result":
                    WriteToolMessage(block, blockPath, json, content);
                    hadToolResults = true;
                    break;
                case var type:
                    throw Unsupported(blockPath, type, UserBlocksHint);
            }
        }

        content.AddRange(ownParts);
        if (content.Count > 0 || !hadToolResults)
        {
            json.WriteStartObject();
            json.WriteString("role"u8, "user"u8);
            WriteContent(content, json);
            json.WriteEndObject();
        }
    }

    private static void WriteToolMessage(JsonElement block, string path, Utf8JsonWriter json, List<Part> toolImages)
    {
        var id = RequiredString(block, "tool_use_id", path);
        var text = new StringBuilder();
        if (OptionalBoolean(block, "is_error", $"{path}.is_error") == true)
        {
            text.Append("Error: ");
        }

        if (TryGet(block, "content", out var content))
        {
            if (content.ValueKind == JsonValueKind.String)
            {
                text.Append(content.GetString());
            }
            else if (content.ValueKind == JsonValueKind.Array)
            {
                var first = true;
                var index = 0;
                foreach (var item in content.EnumerateArray())
                {
                    var itemPath = $"{path}.content[{index++}]";
                    switch (BlockType(item, itemPath))
                    {
                        case "text":
                            if (!first)
                            {
                                text.Append('\n');
                            }

                            text.Append(BlockText(item, itemPath));
                            first = false;
                            break;
                        case "image":
                            toolImages.Add(new Part(true, ImageUrl(item, itemPath)));
                            break;
                        case var type:
                            throw Unsupported(itemPath, type, "in a tool result an OpenAI-compatible model takes only text and image blocks");
                    }
                }
            }
            else
            {
                throw new TranslationException($"'{path}.content' must be a string or an array of text and image blocks.", path + ".content");
            }
        }

        json.WriteStartObject();
        json.WriteString("role"u8, "tool"u8);
        json.WriteString("tool_call_id"u8, id);
        json.WriteString("content"u8, text.ToString());
        json.WriteEndObject();
    }

    private static void WriteAssistantBlocks(JsonElement blocks, string path, Utf8JsonWriter json)
    {
        var text = new StringBuilder();
        var toolCalls = new List<(string Id, string Name, JsonElement Input)>();
        var index = 0;
        foreach (var block in blocks.EnumerateArray())
        {
            var blockPath = $"{path}[{index++}]";
            switch (BlockType(block, blockPath))
            {
                case "text":
                    AppendLine(text, BlockText(block, blockPath));
                    break;
                case "tool_use":
                    var id = RequiredString(block, "id", blockPath);
                    var name = RequiredString(block, "name", blockPath);
                    if (!TryGet(block, "input", out var input) || input.ValueKind != JsonValueKind.Object)
                    {
                        throw new TranslationException($"'{blockPath}.input' must be an object: the tool's arguments.", blockPath + ".input");
                    }

                    toolCalls.Add((id, name, input));
                    break;
                case "thinking" or "redacted_thinking":
                    break;
                case var type:
                    throw Unsupported(blockPath, type, "in an assistant message an OpenAI-compatible model takes only text, tool_use and thinking blocks");
            }
        }

        if (text.Length == 0 && toolCalls.Count == 0)
        {
            return; // only thinking: nothing the upstream can read
        }

        json.WriteStartObject();
        json.WriteString("role"u8, "assistant"u8);
        if (text.Length > 0)
        {
            json.WriteString("content"u8, text.ToString());
        }
        else
        {
            json.WriteNull("content"u8);
        }

        if (toolCalls.Count > 0)
        {
            json.WriteStartArray("tool_calls"u8);
            foreach (var (id, name, input) in toolCalls)
            {
                json.WriteStartObject();
                json.WriteString("id"u8, id);
                json.WriteString("type"u8, "function"u8);
                json.WriteStartObject("function"u8);
                json.WriteString("name"u8, name);
                json.WriteString("arguments"u8, Compact(input));
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    /// <summary>A string when all parts are text, else OpenAI content parts.</summary>
    private static void WriteContent(List<Part> parts, Utf8JsonWriter json)
    {
        if (!parts.Exists(p => p.IsImage))
        {
            var text = new StringBuilder();
            foreach (var part in parts)
            {
                AppendLine(text, part.Value);
            }

            json.WriteString("content"u8, text.ToString());
            return;
        }

        json.WriteStartArray("content"u8);
        foreach (var part in parts)
        {
            json.WriteStartObject();
            if (part.IsImage)
            {
                json.WriteString("type"u8, "image_url"u8);
                json.WriteStartObject("image_url"u8);
                json.WriteString("url"u8, part.Value);
                json.WriteEndObject();
            }
            else
            {
                json.WriteString("type"u8, "text"u8);
                json.WriteString("text"u8, part.Value);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static string ImageUrl(JsonElement block, string path)
    {
        if (!TryGet(block, "source", out var source) || source.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException($"'{path}.source' must be an object: {{\"type\": \"base64\", \"media_type\", \"data\"}} or {{\"type\": \"url\", \"url\"}}.", path + ".source");
        }

        var sourcePath = path + ".source";
        return RequiredString(source, "type", sourcePath) switch
        {
            "base64" => $"data:{RequiredString(source, "media_type", sourcePath)};base64,{RequiredString(source, "data", sourcePath)}",
            "url" => RequiredString(source, "url", sourcePath),
            var type => throw new TranslationException(
                $"'{sourcePath}.type' is \"{type}\", which an OpenAI-compatible model cannot fetch; send the image as \"base64\" or \"url\".",
                sourcePath + ".type"),
        };
    }

    private static void CopyNumber(JsonElement root, string name, Utf8JsonWriter json)
    {
        if (!TryGet(root, name, out var value))
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new TranslationException($"'{name}' must be a number.", name);
        }

        json.WritePropertyName(name);
        value.WriteTo(json);
    }

    private static void WriteStop(JsonElement root, Utf8JsonWriter json)
    {
        if (!TryGet(root, "stop_sequences", out var stops))
        {
            return;
        }

        if (stops.ValueKind != JsonValueKind.Array || stops.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String))
        {
            throw new TranslationException("'stop_sequences' must be an array of strings.", "stop_sequences");
        }

        // OpenAI itself takes at most 4; other servers take more, so the upstream judges the count.
        if (stops.GetArrayLength() > 0)
        {
            json.WritePropertyName("stop"u8);
            stops.WriteTo(json);
        }
    }

    private static void WriteStream(JsonElement root, Utf8JsonWriter json)
    {
        if (OptionalBoolean(root, "stream", "stream") is not { } stream)
        {
            return;
        }

        json.WriteBoolean("stream"u8, stream);
        if (stream)
        {
            json.WriteStartObject("stream_options"u8);
            json.WriteBoolean("include_usage"u8, true);
            json.WriteEndObject();
        }
    }

    private static void WriteUser(JsonElement root, Utf8JsonWriter json)
    {
        if (!TryGet(root, "metadata", out var metadata))
        {
            return;
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException("'metadata' must be an object, e.g. {\"user_id\": \"...\"}.", "metadata");
        }

        if (TryGet(metadata, "user_id", out var userId))
        {
            json.WriteString("user"u8, userId.ValueKind == JsonValueKind.String
                ? userId.GetString()
                : throw new TranslationException("'metadata.user_id' must be a string.", "metadata.user_id"));
        }
    }

    private static void WriteTools(JsonElement root, Utf8JsonWriter json)
    {
        var hasTools = false;
        if (TryGet(root, "tools", out var tools))
        {
            if (tools.ValueKind != JsonValueKind.Array)
            {
                throw new TranslationException("'tools' must be an array of {\"name\", \"description\", \"input_schema\"} objects.", "tools");
            }

            hasTools = tools.GetArrayLength() > 0;
            if (hasTools)
            {
                json.WriteStartArray("tools"u8);
                var index = 0;
                foreach (var tool in tools.EnumerateArray())
                {
                    WriteTool(tool, $"tools[{index++}]", json);
                }

                json.WriteEndArray();
            }
        }

        if (!TryGet(root, "tool_choice", out var choice))
        {
            return;
        }

        if (choice.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException("'tool_choice' must be an object, e.g. {\"type\": \"auto\"}.", "tool_choice");
        }

        var type = RequiredString(choice, "type", "tool_choice");
        if (type is not ("auto" or "any" or "tool" or "none"))
        {
            throw new TranslationException($"'tool_choice.type' must be \"auto\", \"any\", \"tool\" or \"none\", not \"{type}\".", "tool_choice.type");
        }

        var name = type == "tool" ? RequiredString(choice, "name", "tool_choice") : null;

        var disableParallel = OptionalBoolean(choice, "disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use") == true;

        if (!hasTools)
        {
            return;
        }

        if (name is null)
        {
            json.WriteString("tool_choice"u8, type switch { "any" => "required", _ => type });
        }
        else
        {
            json.WriteStartObject("tool_choice"u8);
            json.WriteString("type"u8, "function"u8);
            json.WriteStartObject("function"u8);
            json.WriteString("name"u8, name);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        if (disableParallel)
        {
            json.WriteBoolean("parallel_tool_calls"u8, false);
        }
    }

    private static void WriteTool(JsonElement tool, string path, Utf8JsonWriter json)
    {
        if (tool.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException($"'{path}' must be an object with 'name' and 'input_schema'.", path);
        }

        if (TryGet(tool, "type", out var type) && !type.ValueEquals("custom"u8))
        {
            throw new TranslationException(
                $"'{path}' is Anthropic's server tool {type.GetRawText()}, which only Anthropic runs; an OpenAI-compatible model takes only custom tools ({{\"name\", \"description\", \"input_schema\"}}).",
                path + ".type");
        }

        var name = RequiredString(tool, "name", path);
        if (!TryGet(tool, "input_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException($"'{path}.input_schema' is required: the JSON Schema object of the tool's input.", path + ".input_schema");
        }

        json.WriteStartObject();
        json.WriteString("type"u8, "function"u8);
        json.WriteStartObject("function"u8);
        json.WriteString("name"u8, name);
        if (TryGet(tool, "description", out var description))
        {
            json.WriteString("description"u8, description.ValueKind == JsonValueKind.String
                ? description.GetString()
                : throw new TranslationException($"'{path}.description' must be a string.", path + ".description"));
        }

        json.WritePropertyName("parameters"u8);
        schema.WriteTo(json);
        if (OptionalBoolean(tool, "strict", $"{path}.strict") is { } strict)
        {
            json.WriteBoolean("strict"u8, strict);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary><c>output_config.format</c> (structured outputs) as OpenAI's <c>response_format</c>.</summary>
    private static void WriteResponseFormat(JsonElement root, Utf8JsonWriter json)
    {
        if (!TryGet(root, "output_config", out var config))
        {
            return;
        }

        if (config.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException("'output_config' must be an object.", "output_config");
        }

        if (!TryGet(config, "format", out var format))
        {
            return;
        }

        if (format.ValueKind != JsonValueKind.Object || RequiredString(format, "type", "output_config.format") != "json_schema")
        {
            throw new TranslationException("'output_config.format' must be {\"type\": \"json_schema\", \"schema\": {...}}.", "output_config.format");
        }

        if (!TryGet(format, "schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException("'output_config.format.schema' is required: the JSON Schema object the answer must follow.", "output_config.format.schema");
        }

        json.WriteStartObject("response_format"u8);
        json.WriteString("type"u8, "json_schema"u8);
        json.WriteStartObject("json_schema"u8);
        json.WriteString("name"u8, "output"u8);
        json.WriteBoolean("strict"u8, true);
        json.WritePropertyName("schema"u8);
        schema.WriteTo(json);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The <c>type</c> of a content block, which must be an object with a string type.</summary>
    private static string BlockType(JsonElement block, string path)
    {
        if (block.ValueKind != JsonValueKind.Object)
        {
            throw new TranslationException($"'{path}' must be a content block object with a 'type'.", path);
        }

        return RequiredString(block, "type", path);
    }

    private static string BlockText(JsonElement block, string path) =>
        TryGet(block, "text", out var text) && text.ValueKind == JsonValueKind.String
            ? text.GetString()!
            : throw new TranslationException($"'{path}.text' must be a string.", path + ".text");

    private static string RequiredString(JsonElement owner, string name, string path) =>
        TryGet(owner, name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new TranslationException($"'{path}.{name}' is required and must be a string.", $"{path}.{name}");

    private static TranslationException Unsupported(string path, string type, string rule) =>
        new($"'{path}.type' is \"{type}\", which cannot be sent: {rule}. Remove the block or send its content as text.", path + ".type");

    /// <summary>An optional boolean field; null when absent.</summary>
    private static bool? OptionalBoolean(JsonElement owner, string name, string path)
    {
        if (!TryGet(owner, name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new TranslationException($"'{path}' must be a boolean.", path),
        };
    }

    /// <summary>The property when present and not null (Anthropic treats null optional fields as absent).</summary>
    private static bool TryGet(JsonElement owner, string name, out JsonElement value) =>
        owner.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    private static void AppendLine(StringBuilder text, string value)
    {
        if (text.Length > 0)
        {
            text.Append('\n');
        }

        text.Append(value);
    }

    /// <summary>The tool input as compact JSON, the string OpenAI's <c>arguments</c> holds.</summary>
    private static ReadOnlySpan<byte> Compact(JsonElement input)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, SseEventWriter.JsonOptions))
        {
            input.WriteTo(json);
        }

        return buffer.WrittenSpan;
    }

    /// <summary>A text part or an image part (its URL) of a user message.</summary>
    private readonly record struct Part(bool IsImage, string Value);
}
