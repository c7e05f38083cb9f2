using System.Text.RegularExpressions;

namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>
/// One detector: finds candidates of one <see cref="PiiType"/> (usually with a regex) and keeps
/// those its validator and context rules accept. Stateless and thread-safe.
/// </summary>
internal abstract class PiiDetector
{
    /// <summary>The type this detector reports.</summary>
    public abstract PiiType Type { get; }

    /// <summary>The longest text one match can span.</summary>
    public abstract int MaxLength { get; }

    /// <summary>Whether a match can contain whitespace (then a stream must hold back <see cref="MaxLength"/> characters, not only the current word).</summary>
    public abstract bool SpansWhitespace { get; }

    /// <summary>A cheap test that <paramref name="text"/> may hold a match at all (most texts have no '@', few have digits in a row).</summary>
    public abstract bool MightContain(string text);

    /// <summary>Adds every accepted candidate in <paramref name="text"/> to <paramref name="found"/>; overlaps with other detectors are settled by the scanner.</summary>
    public abstract void Detect(string text, List<PiiMatch> found);

    /// <summary>
    /// A regex for candidates. NonBacktracking: matching is linear in the input whatever the pattern
    /// and the text, so a hostile 1 MB prompt cannot stall the service (the source generator would
    /// give backtracking code, which is only as safe as every pattern is careful). The patterns avoid
    /// large counted repetitions, which NonBacktracking unrolls into many states; lengths are checked
    /// in code instead.
    /// </summary>
    protected static Regex Candidates(string pattern, bool ignoreCase = false) =>
        new(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture
            | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None));

    /// <summary>Whether <paramref name="text"/> has an ASCII digit (vectorised): the pre-filter of every number detector.</summary>
    protected static bool HasDigit(string text) => text.AsSpan().ContainsAnyInRange('0', '9');
}
