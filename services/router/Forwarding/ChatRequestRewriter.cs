using System.Buffers;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// Splices the upstream body out of the client's: the <c>model</c> value replaced by the provider
/// model and, when usage must be billed on a stream the client did not ask usage for,
/// <c>stream_options.include_usage</c> forced to true. Everything else is copied byte for byte
/// (DESIGN: forward bodies without re-serialising what need not change).
/// </summary>
internal static class ChatRequestRewriter
{
    private static readonly byte[] s_streamOptionsProperty = "\"stream_options\":{\"include_usage\":true},"u8.ToArray();
    private static readonly byte[] s_streamOptionsObject = "{\"include_usage\":true}"u8.ToArray();
    private static readonly byte[] s_includeUsageProperty = "\"include_usage\":true"u8.ToArray();
    private static readonly byte[] s_includeUsagePropertyComma = "\"include_usage\":true,"u8.ToArray();
    private static readonly byte[] s_true = "true"u8.ToArray();

    /// <summary>Builds the upstream body into a pooled buffer the caller disposes.</summary>
    /// <param name="body">The client's body.</param>
    /// <param name="info">Its inspection (offsets of the spliced values).</param>
    /// <param name="providerModelJson">The provider model as a JSON string literal.</param>
    /// <param name="injectIncludeUsage">Force <c>stream_options.include_usage</c> to true.</param>
    /// <param name="insertFirst">
    /// Properties to insert at the start of the object, each followed by a comma (e.g. a model's
    /// default <c>"max_tokens":1024,</c>); empty for none.
    /// </param>
    public static PooledBuffer Rewrite(ReadOnlySpan<byte> body, in ChatRequestInfo info, ReadOnlySpan<byte> providerModelJson, bool injectIncludeUsage, ReadOnlySpan<byte> insertFirst = default)
    {
        Span<Edit> edits = stackalloc Edit[3];
        var count = 0;
        edits[count++] = new Edit(info.ModelOffset, info.ModelLength, 0);
        if (!insertFirst.IsEmpty)
        {
            edits[count++] = new Edit(info.ObjectOffset + 1, 0, 6);
        }

        if (injectIncludeUsage)
        {
            edits[count++] = info.StreamOptions switch
            {
                // Inserted first in the object: the model splice is elsewhere, so edits never overlap.
                StreamOptionsShape.Absent => new Edit(info.ObjectOffset + 1, 0, 1),
                StreamOptionsShape.Null => new Edit(info.StreamOptionsOffset, 4, 2),
                _ when info.IncludeUsageOffset >= 0 => new Edit(info.IncludeUsageOffset, info.IncludeUsageLength, 3),
                _ => new Edit(info.StreamOptionsOffset + 1, 0, info.StreamOptionsEmpty ? 4 : 5),
            };
        }

        var active = edits[..count];
        // At most three edits: an insertion sort by offset (insertions at one offset keep their order).
        for (var i = 1; i < active.Length; i++)
        {
            for (var j = i; j > 0 && active[j].Offset < active[j - 1].Offset; j--)
            {
                (active[j], active[j - 1]) = (active[j - 1], active[j]);
            }
        }

        var length = body.Length;
        foreach (var edit in active)
        {
            length += Replacement(edit.Kind, providerModelJson, insertFirst).Length - edit.Length;
        }

        var buffer = new PooledBuffer(length);
        var output = buffer.Array.AsSpan();
        int read = 0, written = 0;
        foreach (var edit in active)
        {
            body[read..edit.Offset].CopyTo(output[written..]);
            written += edit.Offset - read;
            var replacement = Replacement(edit.Kind, providerModelJson, insertFirst);
            replacement.CopyTo(output[written..]);
            written += replacement.Length;
            read = edit.Offset + edit.Length;
        }

        body[read..].CopyTo(output[written..]);
        buffer.Length = written + body.Length - read;
        return buffer;
    }

    private static ReadOnlySpan<byte> Replacement(int kind, ReadOnlySpan<byte> providerModelJson, ReadOnlySpan<byte> insertFirst) => kind switch
    {
        0 => providerModelJson,
        1 => s_streamOptionsProperty,
        2 => s_streamOptionsObject,
        3 => s_true,
        4 => s_includeUsageProperty,
        5 => s_includeUsagePropertyComma,
        _ => insertFirst,
    };

    private readonly record struct Edit(int Offset, int Length, int Kind);
}

/// <summary>A byte buffer rented from <see cref="ArrayPool{T}.Shared"/>; dispose to return it.</summary>
internal sealed class PooledBuffer(int capacity) : IDisposable
{
    public byte[] Array { get; private set; } = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 256));

    public int Length { get; set; }

    public ReadOnlyMemory<byte> Memory => Array.AsMemory(0, Length);

    public ReadOnlySpan<byte> Span => Array.AsSpan(0, Length);

    /// <summary>Grows the buffer so at least <paramref name="free"/> bytes follow <see cref="Length"/>.</summary>
    public void EnsureFree(int free)
    {
        if (Array.Length - Length >= free)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(Array.Length * 2, Length + free));
        Array.AsSpan(0, Length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(Array);
        Array = bigger;
    }

    public void Dispose()
    {
        if (Array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(Array);
            Array = [];
        }
    }
}
