using System.Net;
using System.Net.Sockets;

namespace Gateway.Aspire.Guardrails.Pii.Detectors;

/// <summary>
/// IPv4 and IPv6 addresses.
/// <para>
/// IPv4: four octets 0–255 without leading zeros. A dotted quad is a version number, not an address,
/// when version or numbering words stand just before it ("version 1.2.3.4", "SDK 10.0.1.2", "v1.2.3.4",
/// "section 1.2.3.4") or when
/// it is part of a longer dotted run ("1.2.3.4.5"); otherwise it is an address, because "10.0.0.12"
/// and "1.2.3.4" are written the same way and a missed address costs more than a masked version.
/// </para>
/// <para>
/// IPv6: anything the runtime's parser accepts that contains a decimal digit and either "::" or
/// eight groups, standing alone (so "std::map", times "10:30:45" and MAC addresses are not).
/// </para>
/// </summary>
internal sealed class IpAddressDetector : PiiDetector
{
    private static readonly System.Text.RegularExpressions.Regex V4 = Candidates(@"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b");

    private static readonly System.Text.RegularExpressions.Regex V6 = Candidates(@"[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}(\.\d{1,3}){0,3}");

    private static readonly ContextWords NotAddressWords = new(
        "version", "versions", "ver", "ver.", "v", "v.", "release", "released", "build", "firmware", "sdk", "upgrade to", "update to",
        "upgraded to", "updated to", "patch", "package", "library", "changelog", "runtime", "nuget", "npm", "pip", "bump", "tag", "rev",
        "section", "figure", "fig.", "chapter", "table", "clause", "paragraph", "step", "§", "oid", "rule", "article");

    /// <inheritdoc />
    public override PiiType Type => PiiType.IpAddress;

    /// <inheritdoc />
    public override int MaxLength => 45;

    /// <inheritdoc />
    public override bool SpansWhitespace => false;

    /// <inheritdoc />
    public override bool MightContain(string text) => HasDigit(text);

    /// <inheritdoc />
    public override void Detect(string text, List<PiiMatch> found)
    {
        if (text.Contains('.'))
        {
            foreach (var m in V4.EnumerateMatches(text))
            {
                if (ValidV4(text.AsSpan(m.Index, m.Length)) && TextBoundaries.IsolatedNumber(text, m.Index, m.Index + m.Length)
                    && !NotAddressWords.Before(text, m.Index, 24))
                {
                    found.Add(new PiiMatch(PiiType.IpAddress, m.Index, m.Length, 0.9));
                }
            }
        }

        if (text.Contains(':'))
        {
            foreach (var m in V6.EnumerateMatches(text))
            {
                var start = m.Index;
                var end = m.Index + m.Length;
                while (end > start && text[end - 1] == '.')
                {
                    end--;
                }

                if (end - start >= 3 && ValidV6(text, start, ref end))
                {
                    found.Add(new PiiMatch(PiiType.IpAddress, start, end - start, 0.9));
                }
            }
        }
    }

    private static bool ValidV4(ReadOnlySpan<char> s)
    {
        foreach (var range in s.Split('.'))
        {
            var octet = s[range];
            if ((octet.Length > 1 && octet[0] == '0') || int.Parse(octet, provider: System.Globalization.CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ValidV6(string text, int start, ref int end)
    {
        if ((start > 0 && (char.IsLetterOrDigit(text[start - 1]) || text[start - 1] is ':' or '_'))
            || (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_')))
        {
            return false;
        }

        // A sentence may end right after an address ("... at fe80::1:"); drop one trailing colon if that parses and the whole does not.
        var candidate = text.AsSpan(start, end - start);
        if (!Parses(candidate) && candidate.Length > 3 && candidate[^1] == ':' && candidate[^2] != ':')
        {
            candidate = candidate[..^1];
            end--;
        }

        var colons = candidate.Count(':');
        return candidate.ContainsAnyInRange('0', '9') && (candidate.Contains("::", StringComparison.Ordinal) || colons == 7) && Parses(candidate);
    }

    private static bool Parses(ReadOnlySpan<char> candidate) =>
        IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;
}
