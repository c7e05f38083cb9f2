using System.Collections.Frozen;

namespace Gateway.Aspire.Guardrails.Pii.Detectors;

/// <summary>
/// E-mail addresses: a common-character local part, <c>@</c>, and a domain of at least two labels
/// whose last label (the TLD) is letters only. "user@domain" (no TLD) and image names such as
/// "icon@2x.png" are not addresses.
/// </summary>
internal sealed class EmailDetector : PiiDetector
{
    private static readonly System.Text.RegularExpressions.Regex Pattern =
        Candidates(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+");

    // "logo@2x.png" is a retina image name; a TLD that is a file extension is taken as a file.
    private static readonly FrozenSet<string> FileExtensions = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "pdf", "js", "ts", "css", "html", "txt", "md", "zip", "json", "yaml", "yml");

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> FileExtensionLookup =
        FileExtensions.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <inheritdoc />
    public override PiiType Type => PiiType.Email;

    /// <inheritdoc />
    public override int MaxLength => 254;

    /// <inheritdoc />
    public override bool SpansWhitespace => false;

    /// <inheritdoc />
    public override bool MightContain(string text) => text.Contains('@');

    /// <inheritdoc />
    public override void Detect(string text, List<PiiMatch> found)
    {
        foreach (var m in Pattern.EnumerateMatches(text))
        {
            var start = m.Index;
            var end = m.Index + m.Length;
            while (start < end && text[start] is '.' or '-' or '+')
            {
                start++;
            }

            var at = text.IndexOf('@', start, end - start);
            var local = text.AsSpan(start, Math.Max(0, at - start));
            if (local.IsEmpty || local.Length > 64 || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
            {
                continue;
            }

            end = TrimDomain(text, at + 1, end);
            if (end > at && end - start <= MaxLength)
            {
                found.Add(new PiiMatch(PiiType.Email, start, end - start, 0.95));
            }
        }
    }

    /// <summary>The end of the valid domain starting at <paramref name="from"/>, or -1: trailing labels that are not a letters-only TLD are dropped.</summary>
    private static int TrimDomain(string text, int from, int end)
    {
        while (true)
        {
            var lastDot = text.LastIndexOf('.', end - 1, end - from);
            if (lastDot <= from)
            {
                return -1;
            }

            var tld = text.AsSpan(lastDot + 1, end - lastDot - 1);
            if (tld.Length is >= 2 and <= 24 && IsAsciiLetters(tld))
            {
                var labels = text.AsSpan(from, end - from);
                if (labels[0] == '-' || labels.Contains("-.", StringComparison.Ordinal) || labels.Contains(".-", StringComparison.Ordinal))
                {
                    return -1;
                }

                var onlyTwoLabels = lastDot == text.IndexOf('.', from, end - from);
                return onlyTwoLabels && FileExtensionLookup.Contains(tld) ? -1 : end;
            }

            end = lastDot;
        }
    }

    private static bool IsAsciiLetters(ReadOnlySpan<char> s) => !s.IsEmpty && !s.ContainsAnyExcept(AsciiLetters);

    private static readonly System.Buffers.SearchValues<char> AsciiLetters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
}
