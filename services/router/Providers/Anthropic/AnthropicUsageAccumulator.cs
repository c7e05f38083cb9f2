using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Providers.Anthropic;

/// <summary>
/// Collects Anthropic's token counts from a message or from the events of one stream and turns
/// them into the gateway's <see cref="TokenUsage"/>.
/// </summary>
/// <remarks>
/// Anthropic reports usage in <c>message.usage</c> (a whole message, or <c>message_start</c>) and in
/// <c>usage</c> of <c>message_delta</c>, whose counts are cumulative: every count present replaces
/// the one seen before. <c>message_start</c> carries the input and cache counts and the output so
/// far; <c>message_delta</c> always carries <c>output_tokens</c> and, in newer API versions, may
/// repeat the input and cache counts. Total input is
/// <c>input_tokens + cache_read_input_tokens + cache_creation_input_tokens</c>.
/// </remarks>
internal sealed class AnthropicUsageAccumulator
{
    private int _input;
    private int _output;
    private int _cacheRead;
    private int _cacheWrite;
    private bool _seen;

    /// <summary>The usage seen so far; null while no usage object has been seen.</summary>
    public TokenUsage? Usage => _seen
        ? new TokenUsage(_input + _cacheRead + _cacheWrite, _output, _cacheRead) { CacheWriteTokens = _cacheWrite }
        : null;

    /// <summary>Takes the counts of a message (<c>usage</c>), a <c>message_start</c> event (<c>message.usage</c>) or a <c>message_delta</c> event (<c>usage</c>).</summary>
    public void Observe(JsonElement messageOrEvent)
    {
        var usage = AnthropicJson.Get(messageOrEvent, "usage")
            ?? (AnthropicJson.Get(messageOrEvent, "message") is { } message ? AnthropicJson.Get(message, "usage") : null);
        if (usage is not { ValueKind: JsonValueKind.Object } counts)
        {
            return;
        }

        _seen = true;
        Take(counts, "input_tokens", ref _input);
        Take(counts, "output_tokens", ref _output);
        Take(counts, "cache_read_input_tokens", ref _cacheRead);
        Take(counts, "cache_creation_input_tokens", ref _cacheWrite);
    }

    private static void Take(JsonElement counts, string name, ref int count)
    {
        if (AnthropicJson.Get(counts, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out var number))
        {
            count = number;
        }
    }
}
