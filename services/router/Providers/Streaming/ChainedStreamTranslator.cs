using System.Buffers;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Providers.Streaming;

/// <summary>
/// Two translators in a row, through the gateway's canonical OpenAI format: e.g. a Gemini stream
/// to OpenAI chunks to Anthropic events for an Anthropic client served by a Gemini model. Keeps
/// each adapter knowing only its provider and OpenAI's format.
/// </summary>
internal sealed class ChainedStreamTranslator : IStreamTranslator, IDisposable
{
    private readonly IStreamTranslator _first;
    private readonly SseEventParser _second;
    private readonly ArrayBufferWriter<byte> _between = new(4096);

    public ChainedStreamTranslator(IStreamTranslator first, IStreamTranslator second)
    {
        _first = first;
        _second = new SseEventParser(second);
    }

    /// <summary>The provider's usage as the first translator read it, else what the second saw.</summary>
    public TokenUsage? Usage => _first.Usage ?? _second.Translator.Usage;

    public void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        _between.ResetWrittenCount();
        _first.OnEvent(name, data, _between);
        _second.Process(_between.WrittenSpan, output);
    }

    public void Complete(IBufferWriter<byte> output)
    {
        _between.ResetWrittenCount();
        _first.Complete(_between);
        _second.Process(_between.WrittenSpan, output);
        _second.Complete(output);
    }

    public void Dispose() => _second.Dispose();
}
