using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Streaming;
using Microsoft.ML.Tokenizers;

namespace Gateway.Aspire.Router.Usage;

/// <summary>
/// Counts tokens itself when a provider reports no usage (an OpenAI-compatible server that ignores
/// <c>stream_options.include_usage</c>, a stream cut off before its usage arrived). The numbers
/// are estimates and must be recorded with <see cref="TokenUsage.Estimated"/> set.
/// </summary>
/// <remarks>
/// <para>
/// Encoding: OpenAI models are counted with their own tiktoken encoding, as
/// <c>TiktokenTokenizer.CreateForModel</c> maps them: <c>cl100k_base</c> for gpt-4 (not gpt-4o
/// or gpt-4.1/4.5), gpt-3.5, davinci-002/babbage-002 and the text-embedding models,
/// <c>o200k_base</c> for the rest (gpt-4o, gpt-4.1, o1/o3/o4, gpt-5...). Every other model
/// (Claude, Gemini, Llama, Mistral...) uses a tokenizer that is not public or not on our feed;
/// it is counted with <c>o200k_base</c> as an approximation. The mapping is ours rather than a <c>CreateForModel</c> call per model so that
/// one tokenizer exists per encoding, unknown names cost no exception, and names the library maps
/// to encodings we do not ship (davinci → r50k_base) still count; a test pins it to the library's.
/// </para>
/// <para>
/// Chat convention (OpenAI cookbook, "How to count tokens with tiktoken", which matches the API's
/// <c>prompt_tokens</c> for its example): every message costs <see cref="TokensPerMessage"/> plus
/// the tokens of its role and content, a <c>name</c> adds <see cref="TokensPerName"/>, and the
/// prompt ends with <see cref="ReplyPrimingTokens"/> that prime the reply. Anthropic's top-level
/// <c>system</c> counts as one message. Text pieces (a content string, a text part, a tool call's
/// arguments) are counted one by one, since the chat format separates them with special tokens.
/// Tool definitions and tool inputs count as their JSON text (the providers render tools in formats
/// they do not publish; the JSON is the closest public measure). Each image counts <see cref="ImageTokens"/>, OpenAI's price of a
/// low-detail image: the real number depends on the image size, which the gateway does not decode.
/// Audio, files and documents are not counted. Thinking blocks sent back in a prompt are not
/// counted: Anthropic strips earlier turns' thinking from the context ("Context windows" guide);
/// only a tool-use loop's current thinking counts there, which this misses.
/// </para>
/// <para>
/// Completion: the generated text only (content, refusal, reasoning, tool names and arguments),
/// without overhead.
/// </para>
/// <para>
/// Thread-safe: the tokenizers are created once per process on first use and are safe for
/// concurrent counting (their only mutable state, a word cache, takes a lock).
/// </para>
/// </remarks>
internal sealed class TokenEstimator
{
    /// <summary>Tokens every chat message costs besides its text (OpenAI cookbook).</summary>
    public const int TokensPerMessage = 3;

    /// <summary>Extra tokens of a message's <c>name</c> besides its text (OpenAI cookbook).</summary>
    public const int TokensPerName = 1;

    /// <summary>Tokens that prime the reply (<c>&lt;|start|&gt;assistant&lt;|message|&gt;</c>, OpenAI cookbook).</summary>
    public const int ReplyPrimingTokens = 3;

    /// <summary>Tokens an image counts: OpenAI's cost of one low-detail image, whatever its size.</summary>
    public const int ImageTokens = 85;

    private static readonly Lazy<Tokenizer> O200kBase = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly Lazy<Tokenizer> Cl100kBase = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    /// <summary>The one instance the router needs; the tokenizers behind it are process-wide anyway.</summary>
    public static TokenEstimator Shared { get; } = new();

    /// <summary>
    /// Counts the tokens the model reads in an OpenAI chat request, an Anthropic Messages request,
    /// a legacy completions request (<c>prompt</c>) or an embeddings request (<c>input</c>).
    /// Never throws: a body that is not JSON counts as one string of text.
    /// </summary>
    /// <param name="requestBody">The request JSON as sent upstream.</param>
    /// <param name="providerModel">The model name sent upstream; chooses the encoding.</param>
    public int CountPrompt(ReadOnlySpan<byte> requestBody, string providerModel)
    {
        using var counter = new TextCounter(TokenizerFor(providerModel));
        try
        {
            if (PromptReader.Read(requestBody, counter))
            {
                return counter.Total;
            }
        }
        catch (JsonException)
        {
            // Counted as plain text below: the bytes were forwarded, so the model read them somehow.
        }

        counter.Reset();
        counter.CountUtf8(requestBody);
        return counter.Total;
    }

    /// <summary>
    /// Counts the generated tokens in what the client received: an OpenAI <c>chat.completion</c> or
    /// <c>text_completion</c>, or an Anthropic message; when <paramref name="stream"/> is set, the raw
    /// server-sent events of an OpenAI chunk stream or an Anthropic event stream, of which a
    /// cut-off last event is ignored. Never throws.
    /// </summary>
    /// <param name="output">The response bytes as relayed to the client.</param>
    /// <param name="stream">True when <paramref name="output"/> is a server-sent-event stream.</param>
    /// <param name="providerModel">The model name sent upstream; chooses the encoding.</param>
    public int CountCompletion(ReadOnlySpan<byte> output, bool stream, string providerModel)
    {
        using var counter = new TextCounter(TokenizerFor(providerModel));
        using var generated = new GeneratedText();
        if (stream)
        {
            CollectStream(output, generated);
        }
        else if (!generated.TryCollect(output))
        {
            counter.CountUtf8(output);
        }

        generated.CountInto(counter);
        return counter.Total;
    }

    /// <summary>The tokenizer of <paramref name="providerModel"/>'s encoding (see the type's remarks).</summary>
    internal static Tokenizer TokenizerFor(string? providerModel) =>
        UsesCl100kBase(providerModel) ? Cl100kBase.Value : O200kBase.Value;

    private static bool UsesCl100kBase(string? providerModel)
    {
        var name = providerModel.AsSpan();
        name = name[(name.LastIndexOf('/') + 1)..];          // openai/gpt-4 (OpenRouter style)
        if (name.StartsWith("ft:", StringComparison.OrdinalIgnoreCase))
        {
            name = name[3..];                                 // ft:gpt-3.5-turbo-0613:org::id
        }

        return name.Equals("gpt-4", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("gpt-4-", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("gpt-3.5", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("gpt-35", StringComparison.OrdinalIgnoreCase)   // Azure deployment names
            || name.StartsWith("text-embedding-3", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("text-embedding-ada", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("davinci-002", StringComparison.OrdinalIgnoreCase)
            || name.StartsWith("babbage-002", StringComparison.OrdinalIgnoreCase);
    }

    private static void CollectStream(ReadOnlySpan<byte> output, GeneratedText generated)
    {
        using var parser = new SseEventParser(generated);
        try
        {
            parser.Process(output, NoOutput.Instance);
        }
        catch (InvalidDataException)
        {
            // A line over the parser's limit: keep what was collected before it.
        }

        // No parser.Complete: an event without its closing blank line was cut off, and the
        // event-stream spec discards it at the end of the stream, as the client's parser did.
    }

    /// <summary>True when the reader is on an array; anything else is skipped.</summary>
    private static bool EnterArray(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            return true;
        }

        reader.Skip();
        return false;
    }

    /// <summary>Moves to the next object of the array the reader is in, skipping other values; false at its end.</summary>
    private static bool NextObject(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                return true;
            }

            reader.Skip();
        }

        return false;
    }

    /// <summary>Reads a request body and counts what the model reads (see the type's remarks).</summary>
    private static class PromptReader
    {
        /// <summary>False when the body is JSON but not an object: the caller counts it as text.</summary>
        public static bool Read(ReadOnlySpan<byte> json, TextCounter counter)
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var chat = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("messages"u8))
                {
                    reader.Read();
                    chat = true;
                    for (var more = EnterArray(ref reader); more && NextObject(ref reader);)
                    {
                        ReadMessage(ref reader, json, counter);
                    }
                }
                else if (reader.ValueTextEquals("system"u8))
                {
                    reader.Read();
                    counter.AddFixed(TokensPerMessage);
                    ReadContent(ref reader, json, counter);
                }
                else if (reader.ValueTextEquals("tools"u8) || reader.ValueTextEquals("functions"u8))
                {
                    reader.Read();
                    for (var more = EnterArray(ref reader); more && NextObject(ref reader);)
                    {
                        CountRaw(ref reader, json, counter);
                    }
                }
                else if (reader.ValueTextEquals("prompt"u8) || reader.ValueTextEquals("input"u8))
                {
                    reader.Read();
                    ReadTextOrTokenIds(ref reader, counter);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (chat)
            {
                counter.AddFixed(ReplyPrimingTokens);
            }

            return true;
        }

        /// <summary>One chat message, OpenAI's or Anthropic's.</summary>
        private static void ReadMessage(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, TextCounter counter)
        {
            counter.AddFixed(TokensPerMessage);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("role"u8))
                {
                    reader.Read();
                    counter.CountString(ref reader);
                }
                else if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        counter.CountString(ref reader);
                        counter.AddFixed(TokensPerName);
                    }
                }
                else if (reader.ValueTextEquals("content"u8))
                {
                    reader.Read();
                    ReadContent(ref reader, json, counter);
                }
                else if (reader.ValueTextEquals("tool_calls"u8))
                {
                    reader.Read();
                    for (var more = EnterArray(ref reader); more && NextObject(ref reader);)
                    {
                        ReadToolCall(ref reader, json, counter);
                    }
                }
                else if (reader.ValueTextEquals("function_call"u8))
                {
                    reader.Read();
                    ReadFunction(ref reader, json, counter);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        /// <summary>A content string, or an array of OpenAI content parts or Anthropic content blocks.</summary>
        private static void ReadContent(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, TextCounter counter)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                counter.CountString(ref reader);
                return;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadBlock(ref reader, json, counter);
                }
                else
                {
                    counter.CountString(ref reader);
                }
            }
        }

        /// <summary>
        /// An OpenAI part (<c>text</c>, <c>image_url</c>) or an Anthropic block (<c>text</c>,
        /// <c>image</c>, <c>tool_use</c>, <c>tool_result</c>); property order is not assumed.
        /// </summary>
        private static void ReadBlock(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, TextCounter counter)
        {
            var image = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    image = reader.TokenType == JsonTokenType.String
                        && (reader.ValueTextEquals("image_url"u8) || reader.ValueTextEquals("image"u8));
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    counter.CountString(ref reader);
                }
                else if (reader.ValueTextEquals("input"u8))
                {
                    reader.Read();
                    CountRaw(ref reader, json, counter);
                }
                else if (reader.ValueTextEquals("content"u8))
                {
                    reader.Read();
                    ReadContent(ref reader, json, counter);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (image)
            {
                counter.AddFixed(ImageTokens);
            }
        }

        private static void ReadToolCall(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, TextCounter counter)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var function = reader.ValueTextEquals("function"u8);
                reader.Read();
                if (function)
                {
                    ReadFunction(ref reader, json, counter);
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        /// <summary>A <c>function</c> object of a tool call: its name and arguments.</summary>
        private static void ReadFunction(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, TextCounter counter)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var text = reader.ValueTextEquals("name"u8) || reader.ValueTextEquals("arguments"u8);
                reader.Read();
                if (text)
                {
                    CountRaw(ref reader, json, counter);
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        /// <summary><c>prompt</c> or <c>input</c>: a string, token ids, or arrays of either.</summary>
        private static void ReadTextOrTokenIds(ref Utf8JsonReader reader, TextCounter counter)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.Number:
                    counter.AddFixed(1);
                    break;
                case JsonTokenType.StartArray:
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        ReadTextOrTokenIds(ref reader, counter);
                    }

                    break;
                default:
                    counter.CountString(ref reader);
                    break;
            }
        }

        /// <summary>A string counts as its text; an object or array as its JSON text.</summary>
        private static void CountRaw(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, TextCounter counter)
        {
            if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
            {
                counter.CountString(ref reader);
                return;
            }

            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            counter.CountUtf8(json[start..(int)reader.BytesConsumed]);
        }
    }

    /// <summary>Which part of a choice or content block a piece of generated text belongs to.</summary>
    private enum PieceKind
    {
        Text,
        Reasoning,
        ToolName,
        Arguments,
    }

    /// <summary>Identifies one contiguous piece of generated text: a choice's or block's content, a tool call's name or arguments.</summary>
    private readonly record struct PieceKey(int Index, int Tool, PieceKind Kind);

    /// <summary>
    /// Collects generated text from a completion, or from a stream event by event (as the
    /// <see cref="IStreamTranslator"/> that <see cref="SseEventParser"/> feeds), gluing the deltas
    /// of each piece together: a delta often ends mid-word, so deltas are never counted one by one.
    /// </summary>
    private sealed class GeneratedText : IStreamTranslator, IDisposable
    {
        /// <summary>More pieces than this (a garbage stream with ever new indexes) share the last one.</summary>
        private const int MaxPieces = 64;

        private readonly List<(PieceKey Key, PooledChars Text)> _pieces = [];

        public TokenUsage? Usage => null;

        /// <summary>Reads a whole completion; false, with nothing collected, when it is not a JSON object.</summary>
        public bool TryCollect(ReadOnlySpan<byte> json)
        {
            try
            {
                var reader = new Utf8JsonReader(json);
                if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadObject(ref reader, json);
                    return true;
                }
            }
            catch (JsonException)
            {
            }

            Clear();
            return false;
        }

        public void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
        {
            // Every event we read is an object; [DONE] and keep-alives are not. A cut-off last event
            // never gets here (see CollectStream); a broken event in mid-stream is the upstream's
            // fault and may add the text before its break: validating every event first would cost
            // a third more (40 µs per KB of text streamed in 256 chunks).
            if (data.IsEmpty || data[0] != '{')
            {
                return;
            }

            try
            {
                var reader = new Utf8JsonReader(data);
                reader.Read();
                ReadObject(ref reader, data);
            }
            catch (JsonException)
            {
            }
        }

        public void Complete(IBufferWriter<byte> output)
        {
        }

        public void CountInto(TextCounter counter)
        {
            foreach (var (_, text) in _pieces)
            {
                counter.Count(text.Span);
            }
        }

        public void Dispose() => Clear();

        private void Clear()
        {
            foreach (var (_, text) in _pieces)
            {
                text.Dispose();
            }

            _pieces.Clear();
        }

        /// <summary>
        /// A completion or chunk (<c>choices</c>), an Anthropic message (<c>content</c> blocks) or
        /// Anthropic stream event (<c>content_block</c> or <c>delta</c> of block <c>index</c>).
        /// </summary>
        private void ReadObject(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
        {
            // Only Anthropic events need the top-level index; a copy of the reader finds it then.
            var start = reader;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    for (var (more, position) = (EnterArray(ref reader), 0); more && NextObject(ref reader); position++)
                    {
                        ReadChoice(ref reader, json, PeekIndex(reader, position));
                    }
                }
                else if (reader.ValueTextEquals("content"u8))
                {
                    reader.Read();
                    for (var (more, position) = (EnterArray(ref reader), 0); more && NextObject(ref reader); position++)
                    {
                        ReadBlock(ref reader, json, position);
                    }
                }
                else if (reader.ValueTextEquals("content_block"u8) || reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadBlock(ref reader, json, PeekIndex(start, 0));
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        /// <summary>An OpenAI choice: <c>message</c> (completion), <c>delta</c> (chunk) or <c>text</c> (legacy completion).</summary>
        private void ReadChoice(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int choice)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("message"u8) || reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    ReadMessage(ref reader, json, choice);
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    Append(new(choice, -1, PieceKind.Text), ref reader, json);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        /// <summary>An OpenAI assistant message or delta.</summary>
        private void ReadMessage(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int choice)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("refusal"u8))
                {
                    reader.Read();
                    Append(new(choice, -1, PieceKind.Text), ref reader, json);
                }
                else if (reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8))
                {
                    // reasoning_content: DeepSeek, vLLM; reasoning: OpenRouter, Ollama.
                    reader.Read();
                    Append(new(choice, -1, PieceKind.Reasoning), ref reader, json);
                }
                else if (reader.ValueTextEquals("tool_calls"u8))
                {
                    reader.Read();
                    for (var (more, position) = (EnterArray(ref reader), 0); more && NextObject(ref reader); position++)
                    {
                        ReadToolCall(ref reader, json, choice, PeekIndex(reader, position));
                    }
                }
                else if (reader.ValueTextEquals("function_call"u8))
                {
                    reader.Read();
                    ReadFunction(ref reader, json, choice, -1);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        private void ReadToolCall(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int choice, int tool)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var function = reader.ValueTextEquals("function"u8);
                reader.Read();
                if (function)
                {
                    ReadFunction(ref reader, json, choice, tool);
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        private void ReadFunction(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int choice, int tool)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    Append(new(choice, tool, PieceKind.ToolName), ref reader, json);
                }
                else if (reader.ValueTextEquals("arguments"u8))
                {
                    reader.Read();
                    Append(new(choice, tool, PieceKind.Arguments), ref reader, json);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        /// <summary>
        /// An Anthropic content block (message <c>content[]</c>, stream <c>content_block</c>) or
        /// stream <c>delta</c>: <c>text</c>, <c>thinking</c>, tool <c>name</c> and <c>input</c>,
        /// <c>partial_json</c>.
        /// </summary>
        private void ReadBlock(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int index)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("thinking"u8))
                {
                    reader.Read();
                    Append(new(index, -1, PieceKind.Text), ref reader, json);
                }
                else if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    Append(new(index, -1, PieceKind.ToolName), ref reader, json);
                }
                else if (reader.ValueTextEquals("input"u8) || reader.ValueTextEquals("partial_json"u8))
                {
                    reader.Read();
                    Append(new(index, -1, PieceKind.Arguments), ref reader, json);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        /// <summary>
        /// Appends a string's text, or an object's JSON text (a tool's <c>input</c>), to its piece.
        /// A stream's <c>content_block_start</c> carries <c>"input": {}</c> before the
        /// <c>partial_json</c> deltas; that empty object is not text the model generated.
        /// </summary>
        private void Append(PieceKey key, ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                PieceFor(key).Append(ref reader);
                return;
            }

            if (reader.TokenType == JsonTokenType.StartObject)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                var raw = json[start..(int)reader.BytesConsumed];
                if (raw.Length > 2)
                {
                    PieceFor(key).AppendUtf8(raw);
                }

                return;
            }

            reader.Skip();
        }

        private PooledChars PieceFor(PieceKey key)
        {
            foreach (var (existing, text) in _pieces)
            {
                if (existing == key)
                {
                    return text;
                }
            }

            if (_pieces.Count == MaxPieces)
            {
                return _pieces[^1].Text;
            }

            var piece = new PooledChars();
            _pieces.Add((key, piece));
            return piece;
        }

        /// <summary>The <c>index</c> property of the object the reader is on, else <paramref name="fallback"/>; the reader does not move.</summary>
        private static int PeekIndex(Utf8JsonReader reader, int fallback)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isIndex = reader.ValueTextEquals("index"u8);
                reader.Read();
                if (isIndex && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var index))
                {
                    return index;
                }

                reader.Skip();
            }

            return fallback;
        }
    }

    /// <summary>
    /// Counts text pieces with one tokenizer and adds fixed overheads. Bounded work: text is fed
    /// to the tokenizer in windows of <see cref="WindowChars"/> (byte-pair merging is quadratic in
    /// the length of a word, and a 100,000-character run without spaces takes 5 s in one piece),
    /// and only the first <see cref="MaxCountedChars"/> are tokenized; the rest is extrapolated at
    /// the rate counted so far.
    /// </summary>
    /// <remarks>
    /// Pieces are counted one by one, as the chat format separates them with special tokens, not
    /// joined and counted once. Scratch Stopwatch runs (best of 15, o200k_base, 1 KB of English-like
    /// text): joined 20.6 µs, in 10 pieces 22.6 µs, in 50 pieces 30.7 µs; a chat request with 1 KB
    /// of text in 4 messages costs 21.6 µs in <see cref="CountPrompt"/>, 1 KB of text streamed in
    /// 256 OpenAI chunks 88 µs in <see cref="CountCompletion"/> (JSON reading dominates). Text
    /// without spaces costs far more (random CJK ~2.5 ms per KB), hence the budget: a 10 MB
    /// prompt takes 8 ms in English (estimate 0.06% under the exact count), 0.4–0.7 s in random CJK.
    /// </remarks>
    private sealed class TextCounter(Tokenizer tokenizer) : IDisposable
    {
        /// <summary>Window size; cuts fall on a space in the window's second half when there is one, so ordinary text counts exactly.</summary>
        internal const int WindowChars = 1024;

        /// <summary>About 64K tokens of English, 6 ms of counting; the worst text we tried (random CJK) under a second.</summary>
        internal const int MaxCountedChars = 256 * 1024;

        private readonly PooledChars _scratch = new();
        private long _textTokens;
        private long _fixedTokens;
        private long _countedChars;
        private long _skippedChars;

        /// <summary>Text tokens (counted and extrapolated) plus fixed overheads.</summary>
        public int Total
        {
            get
            {
                // Text is skipped only once MaxCountedChars were counted, so the rate is defined.
                var extrapolated = _skippedChars == 0 ? 0 : (long)Math.Ceiling(_skippedChars * (double)_textTokens / _countedChars);
                return (int)Math.Min(int.MaxValue, _textTokens + extrapolated + _fixedTokens);
            }
        }

        public void AddFixed(int tokens) => _fixedTokens += tokens;

        /// <summary>Counts the string the reader is on; any other value is skipped.</summary>
        public void CountString(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                reader.Skip();
                return;
            }

            _scratch.Clear();
            _scratch.Append(ref reader);
            Count(_scratch.Span);
        }

        /// <summary>Counts UTF-8 bytes as text (invalid sequences become U+FFFD).</summary>
        public void CountUtf8(ReadOnlySpan<byte> utf8)
        {
            _scratch.Clear();
            _scratch.AppendUtf8(utf8);
            Count(_scratch.Span);
        }

        public void Count(ReadOnlySpan<char> text)
        {
            while (!text.IsEmpty)
            {
                var room = MaxCountedChars - _countedChars;
                if (room <= 0)
                {
                    _skippedChars += text.Length;
                    return;
                }

                var window = text[..Cut(text, (int)Math.Min(WindowChars, room))];
                _textTokens += tokenizer.CountTokens(window);
                _countedChars += window.Length;
                text = text[window.Length..];
            }
        }

        public void Reset()
        {
            _textTokens = _fixedTokens = _countedChars = _skippedChars = 0;
        }

        public void Dispose() => _scratch.Dispose();

        /// <summary>
        /// Where a window of at most <paramref name="max"/> chars ends: before the last space in its
        /// second half (tiktoken words carry their leading space; a newline may belong to the
        /// punctuation before it), else at <paramref name="max"/> without splitting a surrogate pair.
        /// </summary>
        private static int Cut(ReadOnlySpan<char> text, int max)
        {
            if (text.Length <= max)
            {
                return text.Length;
            }

            var space = text[(max / 2)..max].LastIndexOf(' ');
            if (space > 0)
            {
                return max / 2 + space;
            }

            return char.IsHighSurrogate(text[max - 1]) && max > 1 ? max - 1 : max;
        }
    }

    /// <summary>A growable char buffer rented from the shared pool.</summary>
    private sealed class PooledChars : IDisposable
    {
        private char[] _chars = ArrayPool<char>.Shared.Rent(256);
        private int _length;

        public ReadOnlySpan<char> Span => _chars.AsSpan(0, _length);

        public void Clear() => _length = 0;

        /// <summary>Appends the unescaped text of the string the reader is on.</summary>
        public void Append(ref Utf8JsonReader reader)
        {
            // The reader reads one span, so ValueSpan is the whole value. The reader does not
            // validate UTF-8 inside strings and CopyString throws on it, while Encoding.UTF8
            // substitutes U+FFFD: only escaped strings need the reader.
            var raw = reader.ValueSpan;
            if (!reader.ValueIsEscaped)
            {
                AppendUtf8(raw);
                return;
            }

            try
            {
                // UTF-8 never has fewer bytes than UTF-16 chars, and unescaping only shortens.
                Ensure(raw.Length);
                _length += reader.CopyString(_chars.AsSpan(_length));
            }
            catch (InvalidOperationException)
            {
                AppendUtf8(raw);
            }
        }

        public void AppendUtf8(ReadOnlySpan<byte> utf8)
        {
            Ensure(Encoding.UTF8.GetMaxCharCount(utf8.Length));
            _length += Encoding.UTF8.GetChars(utf8, _chars.AsSpan(_length));
        }

        public void Dispose()
        {
            if (_chars.Length > 0)
            {
                ArrayPool<char>.Shared.Return(_chars);
                _chars = [];
            }
        }

        private void Ensure(int more)
        {
            if (_length + more <= _chars.Length)
            {
                return;
            }

            var bigger = ArrayPool<char>.Shared.Rent(Math.Max(_chars.Length * 2, _length + more));
            Span.CopyTo(bigger);
            ArrayPool<char>.Shared.Return(_chars);
            _chars = bigger;
        }
    }

    /// <summary>The output <see cref="SseEventParser"/> requires; <see cref="GeneratedText"/> never writes to it.</summary>
    private sealed class NoOutput : IBufferWriter<byte>
    {
        public static readonly NoOutput Instance = new();

        public void Advance(int count) => throw new InvalidOperationException("Token counting writes no output.");

        public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException("Token counting writes no output.");

        public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException("Token counting writes no output.");
    }
}
