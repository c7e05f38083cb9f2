// STAND-IN — delete on merge. The PII helper owns services/guardrails/Pii (PiiScanner.cs,
// PiiMaskSession.cs, StreamingPiiFilter.cs, PiiTypes.cs); this file only lets the rules engine
// compile and test against the agreed API until that branch lands. It detects e-mail addresses only.
using System.Text;

namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>A kind of personal data (stand-in of the agreed API).</summary>
internal enum PiiType { Email, Phone, CreditCard, Iban, UsSsn, AbaRouting, BankAccount, IpAddress, Secret, DateOfBirth }

/// <summary>Configuration names and placeholder labels of <see cref="PiiType"/> (stand-in).</summary>
internal static class PiiTypes
{
    private static readonly string[] s_names =
        ["email", "phone", "credit_card", "iban", "us_ssn", "aba_routing", "bank_account", "ip_address", "secret", "date_of_birth"];

    private static readonly string[] s_labels = ["EMAIL", "PHONE", "CARD", "IBAN", "SSN", "ROUTING", "ACCOUNT", "IP", "SECRET", "DOB"];

    /// <summary>Parses a configuration name such as <c>credit_card</c>.</summary>
    public static bool TryParse(string name, out PiiType type)
    {
        var index = Array.IndexOf(s_names, name);
        type = (PiiType)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>The configuration name.</summary>
    public static string Name(PiiType type) => s_names[(int)type];

    /// <summary>The placeholder label, e.g. <c>EMAIL</c> in <c>[EMAIL_1]</c>.</summary>
    public static string PlaceholderLabel(PiiType type) => s_labels[(int)type];
}

/// <summary>One detected value (stand-in).</summary>
internal readonly record struct PiiMatch(PiiType Type, int Start, int Length, double Confidence);

/// <summary>Finds personal data (stand-in: e-mail addresses only).</summary>
internal sealed class PiiScanner
{
    /// <summary>Longest match a streaming filter must hold back.</summary>
    public int MaxMatchLength => 254;

    /// <summary>Every match in <paramref name="text"/> of <paramref name="types"/> (default all).</summary>
    public IReadOnlyList<PiiMatch> Scan(string text, IReadOnlyCollection<PiiType>? types = null)
    {
        var matches = new List<PiiMatch>();
        if (types is not null && !types.Contains(PiiType.Email))
        {
            return matches;
        }

        for (var at = text.IndexOf('@'); at > 0; at = text.IndexOf('@', at + 1))
        {
            var start = at;
            while (start > 0 && IsLocal(text[start - 1]))
            {
                start--;
            }

            var end = at + 1;
            while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] is '-' or '.'))
            {
                end++;
            }

            while (end > at + 1 && text[end - 1] == '.')
            {
                end--;
            }

            var domain = text.AsSpan(at + 1, end - at - 1);
            if (start < at && domain.Contains('.') && (matches.Count == 0 || matches[^1].Start + matches[^1].Length <= start))
            {
                matches.Add(new PiiMatch(PiiType.Email, start, end - start, 0.99));
            }
        }

        return matches;
    }

    private static bool IsLocal(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '+' or '-';
}

/// <summary>Stable placeholders for one request (stand-in).</summary>
internal sealed class PiiMaskSession
{
    private readonly Dictionary<string, string> _placeholders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _byValue = new(StringComparer.Ordinal);

    /// <summary>Placeholder → original value.</summary>
    public IReadOnlyDictionary<string, string> Placeholders => _placeholders;

    /// <summary>A session that knows the placeholders of an earlier one.</summary>
    public static PiiMaskSession FromPlaceholders(IReadOnlyDictionary<string, string> map)
    {
        var session = new PiiMaskSession();
        foreach (var (placeholder, value) in map)
        {
            session._placeholders[placeholder] = value;
            session._byValue[value] = placeholder;
        }

        return session;
    }

    /// <summary>Replaces each match with its placeholder.</summary>
    public string Mask(string text, IReadOnlyList<PiiMatch> m)
    {
        var builder = new StringBuilder(text.Length);
        var position = 0;
        foreach (var match in m.OrderBy(x => x.Start))
        {
            if (match.Start < position)
            {
                continue;
            }

            builder.Append(text, position, match.Start - position);
            var value = text.Substring(match.Start, match.Length);
            if (!_byValue.TryGetValue(value, out var placeholder))
            {
                var label = PiiTypes.PlaceholderLabel(match.Type);
                placeholder = $"[{label}_{_placeholders.Keys.Count(k => k.StartsWith("[" + label + "_", StringComparison.Ordinal)) + 1}]";
                _placeholders[placeholder] = value;
                _byValue[value] = placeholder;
            }

            builder.Append(placeholder);
            position = match.Start + match.Length;
        }

        return builder.Append(text, position, text.Length - position).ToString();
    }

    /// <summary>Puts the original values back.</summary>
    public string Restore(string text)
    {
        foreach (var (placeholder, value) in _placeholders)
        {
            text = text.Replace(placeholder, value, StringComparison.Ordinal);
        }

        return text;
    }
}

/// <summary>Masks and restores a stream of text deltas (stand-in: holds back the scanner's longest match).</summary>
internal sealed class StreamingPiiFilter(PiiScanner s, IReadOnlyCollection<PiiType>? types, PiiMaskSession session, bool mask, bool restore)
{
    private readonly StringBuilder _pending = new();
    private readonly List<PiiMatch> _found = [];

    /// <summary>Everything detected so far.</summary>
    public IReadOnlyList<PiiMatch> Found => _found;

    /// <summary>Adds a delta; returns the text safe to emit now.</summary>
    public string Push(string delta)
    {
        _pending.Append(delta);
        return Emit(final: false);
    }

    /// <summary>Emits everything held back.</summary>
    public string Flush() => Emit(final: true);

    private string Emit(bool final)
    {
        var text = _pending.ToString();
        var matches = s.Scan(text, types);
        var cut = final ? text.Length : Math.Max(0, text.Length - s.MaxMatchLength);
        foreach (var match in matches)
        {
            if (match.Start < cut && match.Start + match.Length > cut)
            {
                cut = match.Start;
            }
        }

        var emitted = matches.Where(match => match.Start + match.Length <= cut).ToList();
        _found.AddRange(emitted);
        var output = text[..cut];
        output = mask ? session.Mask(output, emitted) : output;
        _pending.Remove(0, cut);
        return restore ? session.Restore(output) : output;
    }
}
