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
    public static PooledBuffer Rewrite(ReadOnlySpan<byte> body, in ChatRequestInfo info, ReadOnlySpan<byte> providerModelJson, bool injectIncludeUsage)
    {
        Span<Edit> edits = stackalloc Edit[2];
        var count = 0;
        edits[count++] = new Edit(info.ModelOffset, info.ModelLength, 0);
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
        if (count == 2 && active[1].Offset < active[0].Offset)
        {
            (active[0], active[1]) = (active[1], active[0]);
        }

        var length = body.Length;
        foreach (var edit in active)
        {
            length += Replacement(edit.Kind, providerModelJson).Length - edit.Length;
        }

        var buffer = new PooledBuffer(length);
        var output = buffer.Array.AsSpan();
        int read = 0, written = 0;
        foreach (var edit in active)
        {
            body[read..edit.Offset].CopyTo(output[written..]);
            written += edit.Offset - read;
            var replacement = Replacement(edit.Kind, providerModelJson);
            replacement.CopyTo(output[written..]);
            written += replacement.Length;
            read = edit.Offset + edit.Length;
        }

        body[read..].CopyTo(output[written..]);
        buffer.Length = written + body.Length - read;
        return buffer;
    }

    private static ReadOnlySpan<byte> Replacement(int kind, ReadOnlySpan<byte> providerModelJson) => kind switch
    {
        0 => providerModelJson,
        1 => s_streamOptionsProperty,
        2 => s_streamOptionsObject,
        3 => s_true,
        4 => s_includeUsageProperty,
        _ => s_includeUsagePropertyComma,
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
