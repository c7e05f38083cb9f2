using System.Text;
using Gateway.Aspire.Guardrails.Pii.Detectors;

namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>
/// PII checks on a streamed answer: feed the text deltas as they arrive, get back the text that is
/// safe to send now, masked and/or restored. One per stream; not thread-safe.
/// </summary>
/// <remarks>
/// <para>The window: text is held back only while a value could still be completing.</para>
/// <list type="number">
/// <item>The last <see cref="PiiScanner.MaxSpacedMatchLength"/> + <see cref="ContextWords.DefaultAfter"/>
/// characters (a card or IBAN written in groups, plus the words after it that decide e.g. a routing
/// number); about 70 characters.</item>
/// <item>The current word, while it is still growing and shorter than <see cref="PiiScanner.MaxWordMatchLength"/>
/// (a key or JWT arriving a few characters per delta).</item>
/// <item>An open <c>-----BEGIN … PRIVATE KEY-----</c> block until its END line (at most <see cref="SecretDetector.MaxPemLength"/>).</item>
/// <item>When restoring, an unclosed <c>[</c> within <see cref="PiiMaskSession.MaxPlaceholderLength"/> of the end, so a placeholder split across deltas is restored whole.</item>
/// </list>
/// <para>
/// A match that begins before the cut is final (everything that could extend it is already here)
/// and is released whole. The last <see cref="ContextLength"/> released characters stay as left
/// context for the next scan, so "routing number" in one delta still qualifies digits in a later one.
/// </para>
/// <para>
/// For flag and block actions construct with <c>mask: false</c>: text is held back the same way and
/// <see cref="Found"/> lists what is in the text a <see cref="Push"/> returns before the caller sends it.
/// </para>
/// </remarks>
internal sealed class StreamingPiiFilter(PiiScanner scanner, IReadOnlyCollection<PiiType>? types, PiiMaskSession session, bool mask, bool restore)
{
    /// <summary>Released characters kept as left context: the widest context window of any detector, plus margin.</summary>
    public const int ContextLength = 96;

    private readonly StringBuilder _pending = new();
    private readonly List<PiiMatch> _found = [];
    private string _context = string.Empty;
    private int _released;

    /// <summary>The matches in the text released so far; <see cref="PiiMatch.Start"/> counts characters of the original stream.</summary>
    public IReadOnlyList<PiiMatch> Found => _found;

    /// <summary>The text held back (not yet returned by <see cref="Push"/>), as it came in.</summary>
    public string Pending => _pending.ToString();

    /// <summary>The most characters held back after a <see cref="Push"/> when no word, key block or placeholder is open.</summary>
    public int WindowLength => scanner.MaxSpacedMatchLength + ContextWords.DefaultAfter + 1;

    /// <summary>Adds <paramref name="delta"/> and returns the text that can be sent now (possibly empty).</summary>
    public string Push(string delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        _pending.Append(delta);
        var raw = _context + _pending.ToString();
        var cut = HoldBackFrom(raw);
        if (cut <= _context.Length)
        {
            return string.Empty;
        }

        var matches = scanner.Scan(raw, types);
        foreach (var match in matches)
        {
            if (match.Start < cut && match.End > cut)
            {
                cut = match.End;
            }
        }

        return Release(raw, cut, matches);
    }

    /// <summary>Ends the stream: returns everything still held back, checked.</summary>
    public string Flush()
    {
        var raw = _context + _pending.ToString();
        return raw.Length == _context.Length ? string.Empty : Release(raw, raw.Length, scanner.Scan(raw, types));
    }

    /// <summary>The offset in <paramref name="raw"/> from which text must wait for more deltas.</summary>
    private int HoldBackFrom(string raw)
    {
        var cut = raw.Length - WindowLength;

        var wordStart = raw.AsSpan().LastIndexOfAny(" \t\r\n") + 1;
        if (wordStart < cut)
        {
            cut = Math.Max(wordStart, raw.Length - scanner.MaxWordMatchLength - 1);
        }

        var pem = SecretDetector.OpenPemBlock(raw);
        if (pem >= 0 && pem < cut)
        {
            cut = pem;
        }

        if (restore)
        {
            cut = Math.Min(cut, OpenPlaceholder(raw, cut));
        }

        return Math.Max(cut, _context.Length);
    }

    // A '[' that may start a placeholder reaching the cut or the end: restoring needs it whole.
    private static int OpenPlaceholder(string raw, int cut)
    {
        var from = Math.Max(0, Math.Min(cut, raw.Length) - PiiMaskSession.MaxPlaceholderLength);
        var open = raw.LastIndexOf('[', raw.Length - 1, raw.Length - from);
        while (open >= 0 && open >= from)
        {
            var close = raw.IndexOf(']', open);
            if (close < 0 || (close >= cut && close - open < PiiMaskSession.MaxPlaceholderLength + 8))
            {
                return open;
            }

            open = open == 0 ? -1 : raw.LastIndexOf('[', open - 1, open - from);
        }

        return int.MaxValue;
    }

    private string Release(string raw, int cut, IReadOnlyList<PiiMatch> matches)
    {
        var start = _context.Length;
        var segment = raw[start..cut];
        var local = new List<PiiMatch>();
        foreach (var match in matches)
        {
            if (match.Start >= start && match.End <= cut)
            {
                local.Add(match with { Start = match.Start - start });
                _found.Add(match with { Start = _released + match.Start - start });
            }
        }

        _released += cut - start;
        _context = raw[Math.Max(0, cut - ContextLength)..cut];
        _pending.Clear().Append(raw, cut, raw.Length - cut);
        return mask || restore ? session.Rewrite(segment, local, mask, restore) : segment;
    }
}
