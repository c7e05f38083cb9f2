using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Gateway.Aspire.Accounting.Analytics;

/// <summary>
/// Where a request-log page ended: the last row's (started_at, request_id), the keyset the log is
/// ordered by, so the next page starts there however many rows arrived meanwhile.
/// </summary>
internal readonly record struct RequestCursor(DateTimeOffset StartedAt, string RequestId)
{
    /// <summary>Opaque text: base64url of "&lt;unix microseconds&gt;:&lt;request id&gt;".</summary>
    public string Encode()
    {
        var micros = (StartedAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes(micros.ToString(CultureInfo.InvariantCulture) + ":" + RequestId));
    }

    /// <summary>Reads <see cref="Encode"/>'s text; false when it is not one.</summary>
    public static bool TryDecode(string text, out RequestCursor cursor)
    {
        cursor = default;
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return false;
        }

        var decoded = Encoding.UTF8.GetString(bytes);
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !long.TryParse(decoded.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var micros)
            || micros > (DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10)
        {
            return false;
        }

        cursor = new RequestCursor(DateTimeOffset.UnixEpoch.AddTicks(micros * 10), decoded[(colon + 1)..]);
        return true;
    }
}
