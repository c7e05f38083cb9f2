using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Aspire.Guardrails.CustomRules;

/// <summary>Where a deny-list pattern matched.</summary>
/// <param name="Start">Start index in the text.</param>
/// <param name="Length">Length of the match.</param>
internal readonly record struct DenyListMatch(int Start, int Length)
{
    /// <summary>Index just past the match.</summary>
    public int End => Start + Length;
}

/// <summary>
/// A compiled <c>deny_list</c>: regular expressions, keywords and a topic policy's patterns, minus the
/// spans an allow-list covers. Every expression runs with <see cref="RegexOptions.NonBacktracking"/>,
/// so matching is linear in the text whatever a configured pattern looks like (a 1 MB body cannot
/// stall the service); the price is that lookarounds, backreferences and atomic groups are refused
/// when the configuration loads.
/// </summary>
internal sealed class DenyList
{
    private const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    private readonly IReadOnlyList<Regex> _patterns;
    private readonly IReadOnlyList<Regex> _allow;

    /// <summary>Creates a list from compiled expressions (see <see cref="CompilePattern"/> and <see cref="CompileKeywords"/>).</summary>
    public DenyList(IReadOnlyList<Regex> patterns, IReadOnlyList<Regex> allow)
    {
        _patterns = patterns;
        _allow = allow;
    }

    /// <summary>Compiles one configured pattern; throws <see cref="ArgumentException"/> with the reason when it is invalid or cannot run in linear time.</summary>
    public static Regex CompilePattern(string pattern)
    {
        try
        {
            return new Regex(pattern, Options);
        }
        catch (NotSupportedException e)
        {
            throw new ArgumentException($"it uses a construct that cannot run in linear time (lookaround, backreference, atomic group): {e.Message}", e);
        }
    }

    /// <summary>
    /// One case-insensitive expression for <paramref name="keywords"/>, each matched as whole words
    /// (a word boundary on each side that starts or ends with a letter or digit, so <c>c++</c> still works).
    /// </summary>
    public static Regex CompileKeywords(IReadOnlyList<string> keywords)
    {
        var builder = new StringBuilder("(?:");
        for (var i = 0; i < keywords.Count; i++)
        {
            var keyword = keywords[i].Trim();
            builder.Append(i > 0 ? "|" : "")
                .Append(char.IsLetterOrDigit(keyword[0]) ? @"\b" : "")
                .Append(Regex.Escape(keyword).Replace(@"\ ", @"\s+", StringComparison.Ordinal))
                .Append(char.IsLetterOrDigit(keyword[^1]) ? @"\b" : "");
        }

        return new Regex(builder.Append(')').ToString(), Options | RegexOptions.IgnoreCase);
    }

    /// <summary>Every match of every pattern in <paramref name="text"/> that no allowed span overlaps.</summary>
    public IReadOnlyList<DenyListMatch> Find(string text)
    {
        List<DenyListMatch>? found = null;
        List<DenyListMatch>? allowed = null;
        foreach (var pattern in _patterns)
        {
            foreach (var match in pattern.EnumerateMatches(text))
            {
                if (match.Length == 0)
                {
                    continue; // an empty match ("a*") denies nothing
                }

                allowed ??= AllowedSpans(text);
                var candidate = new DenyListMatch(match.Index, match.Length);
                if (!allowed.Any(span => span.Start < candidate.End && candidate.Start < span.End))
                {
                    (found ??= []).Add(candidate);
                }
            }
        }

        return found ?? (IReadOnlyList<DenyListMatch>)[];
    }

    private List<DenyListMatch> AllowedSpans(string text)
    {
        var spans = new List<DenyListMatch>();
        foreach (var allow in _allow)
        {
            foreach (var match in allow.EnumerateMatches(text))
            {
                spans.Add(new DenyListMatch(match.Index, match.Length));
            }
        }

        return spans;
    }
}
