using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Caching;

/// <summary>
/// Writes a JSON request body in a canonical form, so that two bodies asking the same thing hash
/// the same: object members sorted by name, whitespace gone, escapes resolved, numbers by value
/// (<c>1</c>, <c>1.0</c> and <c>1e0</c> are one number), and the top-level fields that cannot
/// change the answer left out (<see cref="IgnoredFields"/>).
/// </summary>
/// <remarks>
/// The output is not JSON but a tagged, length-prefixed encoding: unambiguous (no two different
/// documents encode the same) without escaping, and cheaper to produce. Written with
/// <see cref="Utf8JsonReader"/> in one pass; an object's members are encoded in place and then
/// reordered within the buffer through pooled arrays, so nothing is allocated per member.
/// </remarks>
internal static class RequestCanonicalizer
{
    /// <summary>
    /// Top-level request fields that do not change what the model answers, so requests differing
    /// only in them share a cached answer. <c>model</c> is part of the key on its own;
    /// <c>stream</c> and <c>stream_options</c> pick the stored form (<see cref="ResponseForm"/>),
    /// not the question; the rest are the caller's labels (<c>user</c>, <c>metadata</c>,
    /// <c>safety_identifier</c>) or a provider's storage and prompt-cache hints (<c>store</c>,
    /// <c>prompt_cache_key</c>, <c>prompt_cache_retention</c>).
    /// </summary>
    public static IReadOnlyList<string> IgnoredFields { get; } =
        ["model", "stream", "stream_options", "user", "metadata", "safety_identifier", "store", "prompt_cache_key", "prompt_cache_retention"];

    private static readonly byte[][] s_ignored = [.. IgnoredFields.Select(Encoding.UTF8.GetBytes)];

    private const byte ObjectTag = (byte)'{';
    private const byte ObjectEnd = (byte)'}';
    private const byte ArrayTag = (byte)'[';
    private const byte ArrayEnd = (byte)']';
    private const byte StringTag = (byte)'s';
    private const byte NumberTag = (byte)'n';
    private const byte TrueTag = (byte)'t';
    private const byte FalseTag = (byte)'f';
    private const byte NullTag = (byte)'z';

    /// <summary>Appends the canonical form of <paramref name="json"/> to <paramref name="output"/>; false when it is not JSON.</summary>
    public static bool TryWrite(ReadOnlySpan<byte> json, PooledBuffer output)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        var order = new MemberOrder(output);
        try
        {
            if (!reader.Read())
            {
                return false;
            }

            WriteValue(ref reader, output, order, topLevel: true);
            return !reader.Read(); // one value, nothing after it
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void WriteValue(ref Utf8JsonReader reader, PooledBuffer output, MemberOrder order, bool topLevel)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                WriteObject(ref reader, output, order, topLevel);
                break;
            case JsonTokenType.StartArray:
                WriteByte(output, ArrayTag);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    WriteValue(ref reader, output, order, topLevel: false);
                }

                WriteByte(output, ArrayEnd);
                break;
            case JsonTokenType.String:
                WriteString(ref reader, output);
                break;
            case JsonTokenType.Number:
                WriteNumber(ref reader, output);
                break;
            case JsonTokenType.True:
                WriteByte(output, TrueTag);
                break;
            case JsonTokenType.False:
                WriteByte(output, FalseTag);
                break;
            default:
                WriteByte(output, NullTag);
                break;
        }
    }

    private static void WriteObject(ref Utf8JsonReader reader, PooledBuffer output, MemberOrder order, bool topLevel)
    {
        WriteByte(output, ObjectTag);
        var start = output.Length;
        var members = ArrayPool<Member>.Shared.Rent(8);
        var count = 0;
        try
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var memberStart = output.Length;
                WriteString(ref reader, output);
                var nameEnd = output.Length;
                reader.Read();
                if (topLevel && IsIgnored(output.Array.AsSpan(memberStart + 5, nameEnd - memberStart - 5)))
                {
                    reader.Skip();
                    output.Length = memberStart;
                    continue;
                }

                WriteValue(ref reader, output, order, topLevel: false);
                if (count == members.Length)
                {
                    var bigger = ArrayPool<Member>.Shared.Rent(count * 2);
                    members.AsSpan(0, count).CopyTo(bigger);
                    ArrayPool<Member>.Shared.Return(members);
                    members = bigger;
                }

                members[count] = new Member(memberStart, nameEnd, output.Length, count);
                count++;
            }

            if (count > 1)
            {
                SortMembers(output, start, members.AsSpan(0, count), order);
            }
        }
        finally
        {
            ArrayPool<Member>.Shared.Return(members);
        }

        WriteByte(output, ObjectEnd);
    }

    /// <summary>Reorders the encoded members by name (ordinal over UTF-8; stable, so duplicate names keep their order).</summary>
    private static void SortMembers(PooledBuffer output, int start, Span<Member> members, MemberOrder order)
    {
        members.Sort(order);
        var length = output.Length - start;
        var region = ArrayPool<byte>.Shared.Rent(length);
        output.Array.AsSpan(start, length).CopyTo(region);
        var at = start;
        foreach (var member in members)
        {
            var size = member.End - member.Start;
            region.AsSpan(member.Start - start, size).CopyTo(output.Array.AsSpan(at));
            at += size;
        }

        ArrayPool<byte>.Shared.Return(region);
    }

    private static bool IsIgnored(ReadOnlySpan<byte> name)
    {
        foreach (var ignored in s_ignored)
        {
            if (name.SequenceEqual(ignored))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A string or property name: tag, 4-byte length, the unescaped UTF-8 bytes.</summary>
    private static void WriteString(ref Utf8JsonReader reader, PooledBuffer output)
    {
        var raw = reader.ValueSpan;
        output.EnsureFree(5 + raw.Length); // unescaping never lengthens
        var at = output.Length;
        output.Array[at] = StringTag;
        var length = reader.ValueIsEscaped ? reader.CopyString(output.Array.AsSpan(at + 5)) : Copy(raw, output.Array.AsSpan(at + 5));
        BinaryPrimitives.WriteInt32LittleEndian(output.Array.AsSpan(at + 1), length);
        output.Length = at + 5 + length;
    }

    /// <summary>
    /// A number by value: as the shortest decimal when it fits one (trailing zeros and exponent
    /// spelling gone), else as a round-tripped double, else (beyond double) as written.
    /// </summary>
    private static void WriteNumber(ref Utf8JsonReader reader, PooledBuffer output)
    {
        Span<byte> text = stackalloc byte[64];
        int length;
        if (reader.TryGetDecimal(out var number))
        {
            // G29 drops trailing zeros: 1.50 and 1.5 write the same.
            number.TryFormat(text, out length, "G29", CultureInfo.InvariantCulture);
        }
        else if (reader.TryGetDouble(out var real) && double.IsFinite(real))
        {
            real.TryFormat(text, out length, "R", CultureInfo.InvariantCulture);
        }
        else
        {
            text = reader.ValueSpan.ToArray();
            length = text.Length;
        }

        output.EnsureFree(5 + length);
        output.Array[output.Length] = NumberTag;
        BinaryPrimitives.WriteInt32LittleEndian(output.Array.AsSpan(output.Length + 1), length);
        text[..length].CopyTo(output.Array.AsSpan(output.Length + 5));
        output.Length += 5 + length;
    }

    private static int Copy(ReadOnlySpan<byte> from, Span<byte> to)
    {
        from.CopyTo(to);
        return from.Length;
    }

    private static void WriteByte(PooledBuffer output, byte value)
    {
        output.EnsureFree(1);
        output.Array[output.Length++] = value;
    }

    /// <summary>An encoded object member: where it starts, where its name ends, where it ends, its position in the body.</summary>
    private readonly record struct Member(int Start, int NameEnd, int End, int Index);

    /// <summary>Orders members by their encoded name bytes, then by position; reads the buffer as it is when comparing (it may have grown).</summary>
    private sealed class MemberOrder(PooledBuffer output) : IComparer<Member>
    {
        public int Compare(Member x, Member y)
        {
            // Names are encoded as tag + 4-byte length + bytes; compare the bytes.
            var nameX = output.Array.AsSpan(x.Start + 5, x.NameEnd - x.Start - 5);
            var nameY = output.Array.AsSpan(y.Start + 5, y.NameEnd - y.Start - 5);
            var byName = nameX.SequenceCompareTo(nameY);
            return byName != 0 ? byName : x.Index.CompareTo(y.Index);
        }
    }
}
