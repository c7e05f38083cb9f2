using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Aspire.Accounting.Analytics;

/// <summary>
/// Where a usage page ended: the last row's (bucket, group), the key usage rows are ordered by
/// (both nulls first), so the next page starts right after it. It carries a fingerprint of the
/// query's shape (group_by, bucket, team): a cursor handed to another query is refused instead of
/// silently starting somewhere meaningless. The range is not part of it, so a client that lets
/// <c>to</c> default to now keeps paging while <c>to</c> moves.
/// </summary>
internal readonly record struct UsageCursor(DateTimeOffset? Bucket, string? Group, string Shape)
{
    /// <summary>The shape fingerprint of a query: 12 hex digits of a SHA-256.</summary>
    public static string ShapeOf(string groupBy, string? bucket, string? team)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{groupBy}\n{bucket}\n{team}"), hash);
        return Convert.ToHexStringLower(hash[..6]);
    }

    /// <summary>Opaque text: base64url of "u1:&lt;shape&gt;:&lt;bucket unix µs or empty&gt;:&lt;g + group, or n&gt;".</summary>
    public string Encode()
    {
        var bucket = Bucket is { } b ? ((b.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10).ToString(CultureInfo.InvariantCulture) : "";
        var group = Group is null ? "n" : "g" + Group;
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"u1:{Shape}:{bucket}:{group}"));
    }

    /// <summary>Reads <see cref="Encode"/>'s text; false when it is not one.</summary>
    public static bool TryDecode(string text, out UsageCursor cursor)
    {
        cursor = default;
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text));
        }
        catch (FormatException)
        {
            return false;
        }

        // The group is last and may itself hold ':'.
        var parts = decoded.Split(':', 4);
        if (parts is not ["u1", { Length: 12 } shape, var bucketText, [('g' or 'n') and var kind, ..] group] || (kind == 'n' && group.Length != 1))
        {
            return false;
        }

        DateTimeOffset? bucket = null;
        if (bucketText.Length > 0)
        {
            if (!long.TryParse(bucketText, NumberStyles.None, CultureInfo.InvariantCulture, out var micros)
                || micros > (DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10)
            {
                return false;
            }

            bucket = DateTimeOffset.UnixEpoch.AddTicks(micros * 10);
        }

        cursor = new UsageCursor(bucket, kind == 'g' ? group[1..] : null, shape);
        return true;
    }
}
