using System.Buffers.Binary;
using System.Text;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Caching;

/// <summary>
/// The binary value of a cache entry in Redis: a fixed header (version, form, status, times,
/// usage), three short strings and the body. Binary rather than JSON because the body is bytes
/// (JSON would base64 it, a third larger) and a fixed layout decodes without allocating more
/// than the body.
/// </summary>
/// <remarks>
/// Layout, little-endian: version (1) · form (1) · status (2) · stored-at ms (8) · expires-at ms (8)
/// · prompt, completion, cached, cache-write, reasoning tokens (5 × 4) · flags (1: usage estimated)
/// · content type, served model, provider (each 2-byte length + UTF-8) · body length (4) · body.
/// A value of another version or a damaged one decodes to null: a miss, never an error.
/// </remarks>
internal static class CacheEnvelope
{
    private const byte Version = 1;
    private const int FixedHeader = 1 + 1 + 2 + 8 + 8 + (5 * 4) + 1;

    /// <summary>Encodes <paramref name="response"/>.</summary>
    public static byte[] Encode(CachedResponse response)
    {
        var contentType = Encoding.UTF8.GetBytes(response.ContentType);
        var servedModel = Encoding.UTF8.GetBytes(response.ServedModel);
        var provider = Encoding.UTF8.GetBytes(response.Provider);
        var value = new byte[FixedHeader + 6 + contentType.Length + servedModel.Length + provider.Length + 4 + response.Body.Length];
        var span = value.AsSpan();
        span[0] = Version;
        span[1] = (byte)response.Form;
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], (ushort)response.StatusCode);
        BinaryPrimitives.WriteInt64LittleEndian(span[4..], response.StoredAt.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt64LittleEndian(span[12..], response.ExpiresAt.ToUnixTimeMilliseconds());
        var usage = response.Usage;
        BinaryPrimitives.WriteInt32LittleEndian(span[20..], usage.PromptTokens);
        BinaryPrimitives.WriteInt32LittleEndian(span[24..], usage.CompletionTokens);
        BinaryPrimitives.WriteInt32LittleEndian(span[28..], usage.CachedTokens);
        BinaryPrimitives.WriteInt32LittleEndian(span[32..], usage.CacheWriteTokens);
        BinaryPrimitives.WriteInt32LittleEndian(span[36..], usage.ReasoningTokens);
        span[40] = usage.Estimated ? (byte)1 : (byte)0;
        var at = FixedHeader;
        at = WriteString(span, at, contentType);
        at = WriteString(span, at, servedModel);
        at = WriteString(span, at, provider);
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], response.Body.Length);
        response.Body.Span.CopyTo(span[(at + 4)..]);
        return value;
    }

    /// <summary>Decodes a value written by <see cref="Encode"/>; null when it is of another version or damaged.</summary>
    public static CachedResponse? Decode(ReadOnlyMemory<byte> value)
    {
        var span = value.Span;
        if (span.Length < FixedHeader || span[0] != Version || !Enum.IsDefined((ResponseForm)span[1]))
        {
            return null;
        }

        var at = FixedHeader;
        if (!TryReadString(span, ref at, out var contentType) || !TryReadString(span, ref at, out var servedModel)
            || !TryReadString(span, ref at, out var provider) || span.Length - at < 4)
        {
            return null;
        }

        var bodyLength = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        if (bodyLength < 0 || bodyLength != span.Length - at - 4)
        {
            return null;
        }

        try
        {
            return new CachedResponse
            {
                Form = (ResponseForm)span[1],
                StatusCode = BinaryPrimitives.ReadUInt16LittleEndian(span[2..]),
                StoredAt = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(span[4..])),
                ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(span[12..])),
                Usage = new TokenUsage(
                    BinaryPrimitives.ReadInt32LittleEndian(span[20..]),
                    BinaryPrimitives.ReadInt32LittleEndian(span[24..]),
                    BinaryPrimitives.ReadInt32LittleEndian(span[28..]))
                {
                    CacheWriteTokens = BinaryPrimitives.ReadInt32LittleEndian(span[32..]),
                    ReasoningTokens = BinaryPrimitives.ReadInt32LittleEndian(span[36..]),
                    Estimated = span[40] == 1,
                },
                ContentType = contentType,
                ServedModel = servedModel,
                Provider = provider,
                // No copy: the value array is this entry's own.
                Body = value[(at + 4)..],
            };
        }
        catch (ArgumentOutOfRangeException)
        {
            return null; // times outside DateTimeOffset's range: damaged
        }
    }

    private static int WriteString(Span<byte> span, int at, byte[] value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], checked((ushort)value.Length));
        value.CopyTo(span[(at + 2)..]);
        return at + 2 + value.Length;
    }

    private static bool TryReadString(ReadOnlySpan<byte> span, ref int at, out string value)
    {
        value = "";
        if (span.Length - at < 2)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16LittleEndian(span[at..]);
        if (span.Length - at - 2 < length)
        {
            return false;
        }

        value = Encoding.UTF8.GetString(span.Slice(at + 2, length));
        at += 2 + length;
        return true;
    }
}
