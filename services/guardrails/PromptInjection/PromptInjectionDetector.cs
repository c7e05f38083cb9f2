using System.Buffers;
using System.Collections.Frozen;
using Gateway.Aspire.Guardrails.Moderation;

namespace Gateway.Aspire.Guardrails.PromptInjection;

/// <summary>
/// Scores a text 0..1 for prompt injection and jailbreak attempts: instruction override, role-play
/// jailbreaks, system-prompt exfiltration, encoded payloads and delimiter injection. Dependency-free,
/// deterministic and linear in the input, like the moderation classifier whose tokenizer and pattern
/// notation it shares.
/// </summary>
/// <remarks>
/// Steps of <see cref="Score(string, CancellationToken)"/>:
/// 1. turn structural punctuation (<c>: # | [ ] { } ( ) &lt; &gt; * =</c>) into sentence breaks, so an
///    instruction after "Translate this:" or "###" counts as starting a sentence; tokenize (leetspeak,
///    spacing, repeated letters undone);
/// 2. keep each phrase cue's strongest match (×0.4 when it is inside a short quotation: a mention;
///    ×0.2 for an override cue after a negation: "don't forget the previous instructions"); of the
///    variants of one phrase only the strongest counts;
/// 3. soften every phrase cue ×0.45 when the text talks about attacks (articles, research, detection);
/// 4. add delimiter markers found in the raw text (×0.5 next to chat-template vocabulary, where a
///    developer is asking about templates);
/// 5. decode base64/hex blocks and score them the same way (once, not recursively): a decoded text
///    scoring ≥ 0.4 is an encoded payload worth at least 0.85;
/// 6. combine as 1 − Π(1 − w); the family is that of the strongest cue.
/// </remarks>
internal sealed class PromptInjectionDetector
{
    /// <summary>Score at which a <c>prompt_injection</c> check fires when its rule sets no <c>threshold</c>.</summary>
    public const double DefaultThreshold = 0.7;

    private const double QuotedFactor = 0.4;
    private const double NegatedFactor = 0.2;
    private const double MentionFactor = 0.45;
    private const double TemplateContextFactor = 0.5;
    private const double DecodedFloor = 0.4;
    private const double EncodedWeight = 0.85;

    private static readonly FrozenDictionary<string, InjectionRule[]> RulesByFirstWord = PromptInjectionLexicon.Rules
        .SelectMany(rule => rule.Pattern.FirstWords.Select(word => (word, rule)))
        .GroupBy(pair => pair.word, StringComparer.Ordinal)
        .ToFrozenDictionary(group => group.Key, group => group.Select(pair => pair.rule).ToArray(), StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, ModerationPattern[]> MentionsByFirstWord = PromptInjectionLexicon.MentionContext
        .SelectMany(pattern => pattern.FirstWords.Select(word => (word, pattern)))
        .GroupBy(pair => pair.word, StringComparer.Ordinal)
        .ToFrozenDictionary(group => group.Key, group => group.Select(pair => pair.pattern).ToArray(), StringComparer.Ordinal);

    private static readonly SearchValues<char> s_breaks = SearchValues.Create(":#|[]{}()<>*=");

    /// <summary>Scores <paramref name="text"/>; <paramref name="cancellationToken"/> bounds the work on huge inputs.</summary>
    public InjectionScore Score(string text, CancellationToken cancellationToken = default) => Score(text, decode: true, cancellationToken);

    private static InjectionScore Score(string text, bool decode, CancellationToken cancellationToken)
    {
        // 1. Structure as sentence breaks, then words.
        var tokens = ModerationTokenizer.Tokenize(WithBreaks(text), PromptInjectionLexicon.Vocabulary, cancellationToken);

        // 2. Strongest match per cue; 3. (in the same pass) whether the text talks about attacks.
        var strongest = new Dictionary<InjectionRule, double>();
        var mention = false;
        for (var i = 0; i < tokens.Count; i++)
        {
            if ((i & 0xFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (!mention && MentionsByFirstWord.TryGetValue(tokens[i].Text, out var mentions))
            {
                mention = mentions.Any(pattern => pattern.TryMatch(tokens, i, PromptInjectionLexicon.NoNegations, out _, out _));
            }

            if (!RulesByFirstWord.TryGetValue(tokens[i].Text, out var candidates))
            {
                continue;
            }

            foreach (var rule in candidates)
            {
                var negations = rule.Negatable ? ModerationLexicon.Negations : PromptInjectionLexicon.NoNegations;
                if (rule.Pattern.TryMatch(tokens, i, negations, out var quoted, out var negated))
                {
                    var weight = rule.Weight * (quoted ? QuotedFactor : 1) * (negated ? NegatedFactor : 1);
                    strongest[rule] = Math.Max(weight, strongest.GetValueOrDefault(rule));
                }
            }
        }

        // 3. Mentions of attacks rather than attacks.
        var remaining = 1.0;
        var best = InjectionScore.None;
        void Add(double weight, InjectionFamily family)
        {
            remaining *= 1 - weight;
            if (weight > best.Score)
            {
                best = new InjectionScore(weight, family);
            }
        }

        foreach (var (rule, weight) in strongest)
        {
            if (rule.Group is null || !strongest.Any(other => other.Key.Group == rule.Group && (other.Value > weight || (other.Value == weight && other.Key.Weight > rule.Weight))))
            {
                Add(weight * (mention ? MentionFactor : 1), rule.Family);
            }
        }

        // 4. Delimiters.
        var template = tokens.Any(token => PromptInjectionLexicon.TemplateContext.Contains(token.Text));
        foreach (var weight in DelimiterMarkers.Find(text))
        {
            Add(weight * (template ? TemplateContextFactor : 1), InjectionFamily.DelimiterInjection);
        }

        // 5. Encoded payloads.
        if (decode)
        {
            foreach (var decoded in EncodedPayloads.Decode(text))
            {
                var inner = Score(decoded, decode: false, cancellationToken);
                if (inner.Score >= DecodedFloor)
                {
                    Add(Math.Max(EncodedWeight, inner.Score), InjectionFamily.EncodedPayload);
                }
            }
        }

        // 6. Combination.
        return best with { Score = Math.Clamp(1 - remaining, 0, 1) };
    }

    private static string WithBreaks(string text)
    {
        if (text.AsSpan().IndexOfAny(s_breaks) < 0)
        {
            return text;
        }

        return string.Create(text.Length, text, static (span, source) =>
        {
            source.AsSpan().CopyTo(span);
            for (var i = span.IndexOfAny(s_breaks); i >= 0 && i < span.Length; i++)
            {
                if (s_breaks.Contains(span[i]))
                {
                    span[i] = '\n';
                }
            }
        });
    }
}
