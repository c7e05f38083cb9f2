using System.Globalization;
using System.Text;

namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>
/// The placeholders of one request. Masking replaces each value with <c>[LABEL_n]</c> (<c>[EMAIL_1]</c>,
/// <c>[CARD_2]</c>), numbered per label in order of first appearance; the same value always gets the
/// same placeholder, also when it is written differently ("4111 1111 1111 1111" and
/// "4111-1111-1111-1111", or an e-mail in other case), so the model can still tell values apart.
/// Restoring puts the originals back, for this request's placeholders only.
/// </summary>
/// <remarks>
/// The map can travel between calls (<see cref="Placeholders"/>, <see cref="FromPlaceholders"/>):
/// input is masked in one RPC, the answer restored in another. Methods lock, so a session shared by
/// the input and output side of one request is safe; it is never shared between requests.
/// </remarks>
internal sealed class PiiMaskSession
{
    /// <summary>The longest placeholder this session can produce before numbers pass 9999: what a stream holds back to restore one split across deltas.</summary>
    public const int MaxPlaceholderLength = 1 + 7 + 1 + 4 + 1;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _originals = new(StringComparer.Ordinal);   // placeholder -> original
    private readonly Dictionary<string, string> _placeholders = new(StringComparer.Ordinal); // type + normalised value -> placeholder
    private readonly int[] _counters = new int[PiiTypes.All.Count];

    /// <summary>Placeholder → original value, for every placeholder handed out (or imported) in this session.</summary>
    public IReadOnlyDictionary<string, string> Placeholders
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, string>(_originals, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>A session continuing from a map produced by <see cref="Placeholders"/> (new values are numbered after the imported ones).</summary>
    public static PiiMaskSession FromPlaceholders(IReadOnlyDictionary<string, string> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var session = new PiiMaskSession();
        foreach (var (placeholder, original) in map)
        {
            if (!TryParsePlaceholder(placeholder, out var type, out var number))
            {
                throw new ArgumentException($"\"{placeholder}\" is not a PII placeholder such as [EMAIL_1].", nameof(map));
            }

            session._originals[placeholder] = original;
            session._placeholders.TryAdd(Key(type, original), placeholder);
            session._counters[(int)type] = Math.Max(session._counters[(int)type], number);
        }

        return session;
    }

    /// <summary>Replaces every match in <paramref name="text"/> (sorted, non-overlapping, from <see cref="PiiScanner.Scan"/>) with its placeholder.</summary>
    public string Mask(string text, IReadOnlyList<PiiMatch> matches) => Rewrite(text, matches, mask: true, restore: false);

    /// <summary>Puts the original back for every placeholder of this session in <paramref name="text"/>; other bracketed text is left alone.</summary>
    public string Restore(string text) => Rewrite(text, [], mask: false, restore: true);

    /// <summary>Whether <paramref name="value"/> of <paramref name="type"/> already has a placeholder here (it came from this request's own input).</summary>
    public bool IsKnown(PiiType type, string value)
    {
        lock (_lock)
        {
            return _placeholders.ContainsKey(Key(type, value));
        }
    }

    /// <summary>
    /// One pass over a model answer: text outside <paramref name="matches"/> has this session's
    /// placeholders restored when <paramref name="restore"/>; each match is masked when
    /// <paramref name="mask"/>, except that with <paramref name="restore"/> a value this request's
    /// input already contained is left as is (it is the user's own). Placeholders created here are
    /// never restored in the same pass, so masked output stays masked.
    /// </summary>
    public string Rewrite(string text, IReadOnlyList<PiiMatch> matches, bool mask, bool restore)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (matches.Count == 0 && (!restore || !text.Contains('[')))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        var position = 0;
        lock (_lock)
        {
            foreach (var match in matches)
            {
                if (match.Start < position || match.End > text.Length)
                {
                    continue;
                }

                Append(builder, text, position, match.Start, restore);
                var value = text.Substring(match.Start, match.Length);
                var known = _placeholders.ContainsKey(Key(match.Type, value));
                builder.Append(mask && !(restore && known) ? PlaceholderFor(match.Type, value) : value);
                position = match.End;
            }

            Append(builder, text, position, text.Length, restore);
        }

        return builder.ToString();
    }

    /// <summary>Parses <c>[LABEL_n]</c>.</summary>
    public static bool TryParsePlaceholder(ReadOnlySpan<char> s, out PiiType type, out int number)
    {
        type = default;
        number = 0;
        if (s.Length < 5 || s[0] != '[' || s[^1] != ']')
        {
            return false;
        }

        var underscore = s.LastIndexOf('_');
        return underscore > 1
            && PiiTypes.TryParseLabel(s[1..underscore], out type)
            && int.TryParse(s[(underscore + 1)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out number)
            && number > 0;
    }

    private string PlaceholderFor(PiiType type, string value)
    {
        var key = Key(type, value);
        if (!_placeholders.TryGetValue(key, out var placeholder))
        {
            placeholder = string.Create(CultureInfo.InvariantCulture, $"[{PiiTypes.PlaceholderLabel(type)}_{++_counters[(int)type]}]");
            _placeholders[key] = placeholder;
            _originals[placeholder] = value;
        }

        return placeholder;
    }

    // Copies text[from..to), replacing this session's placeholders by their originals when restoring.
    private void Append(StringBuilder builder, string text, int from, int to, bool restore)
    {
        while (restore && from < to)
        {
            var open = text.IndexOf('[', from, to - from);
            if (open < 0)
            {
                break;
            }

            var close = text.IndexOf(']', open, Math.Min(to - open, MaxPlaceholderLength + 8));
            builder.Append(text, from, open - from);
            if (close > open && _originals.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text.AsSpan(open, close - open + 1), out var original))
            {
                builder.Append(original);
                from = close + 1;
            }
            else
            {
                builder.Append('[');
                from = open + 1;
            }
        }

        builder.Append(text, from, to - from);
    }

    /// <summary>The identity of a value: digits only for numbers (grouping does not matter), lower case for e-mails, as written otherwise.</summary>
    private static string Key(PiiType type, string value)
    {
        var normalised = type switch
        {
            PiiType.CreditCard or PiiType.Phone or PiiType.UsSsn or PiiType.AbaRouting or PiiType.BankAccount =>
                string.Concat(value.Where(c => char.IsAsciiDigit(c) || c == '+')),
            PiiType.Iban => value.Replace(" ", string.Empty, StringComparison.Ordinal),
            PiiType.Email => value.ToLowerInvariant(),
            _ => value,
        };
        return PiiTypes.PlaceholderLabel(type) + ":" + normalised;
    }
}
