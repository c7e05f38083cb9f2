using Gateway.Aspire.Guardrails.Bodies;
using Gateway.Aspire.Guardrails.Pii;
using Gateway.Aspire.Guardrails.Rules;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>A block decision: which guardrail (<c>rule/check</c>) and which category. Never carries content.</summary>
/// <param name="Guardrail"><c>&lt;rule id&gt;/&lt;check name&gt;</c>.</param>
/// <param name="Category">What was found.</param>
internal sealed record GuardrailBlock(string Guardrail, string Category);

/// <summary>
/// Runs the checks of the matching rules over the texts of a body, in rule order and check order:
/// masks rewrite the texts in place (later checks see the masked text), the first block stops
/// everything, flags only add findings. A check that throws is handled by its rule's <c>on_error</c>.
/// </summary>
internal sealed class GuardrailEvaluator(IEnumerable<IContentCheck> checks, PiiCheck pii, ILogger<GuardrailEvaluator> logger)
{
    // The last registration of a kind wins, so a host can replace one check (tests make one fail).
    private readonly Dictionary<CheckKind, IContentCheck> _checks = checks.GroupBy(check => check.Kind).ToDictionary(group => group.Key, group => group.Last());

    /// <summary>The check that implements <paramref name="kind"/>.</summary>
    public IContentCheck For(CheckKind kind) => _checks[kind];

    /// <summary>The PII check, for masking sessions and stream filters.</summary>
    public PiiCheck Pii => pii;

    /// <summary>
    /// Evaluates the <paramref name="direction"/> checks of <paramref name="rules"/> over <paramref name="texts"/>.
    /// Masks use <paramref name="maskSession"/>; on a response, texts are finally restored from
    /// <paramref name="restoreSession"/> when a pii check asks for it (after every other check, so no
    /// check sees the restored values). Throws <see cref="GuardrailFailedException"/> for a failing
    /// check of a fail-closed rule. A moderation check with a <c>model</c> uses <paramref name="external"/>:
    /// on a first call it records the text as needed and is skipped; on the second it uses the model's
    /// scores, or the built-in classifier when the model failed (reported as a <c>fallback</c> finding).
    /// Without <paramref name="external"/> the built-in classifier decides.
    /// </summary>
    public GuardrailBlock? Evaluate(
        IReadOnlyList<GuardrailRule> rules,
        BodyDirection direction,
        BodyTexts texts,
        PiiMaskSession maskSession,
        PiiMaskSession? restoreSession,
        FindingsBuilder findings,
        string requestId,
        CancellationToken cancellationToken,
        ExternalModerationScores? external = null)
    {
        var restore = false;
        foreach (var rule in rules)
        {
            foreach (var check in direction == BodyDirection.Request ? rule.Input : rule.Output)
            {
                try
                {
                    if (Run(rule, check, texts, maskSession, findings, external, cancellationToken) is { } block)
                    {
                        return block;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    OnError(rule, check, findings, requestId, e);
                }

                restore |= check.Restore;
            }
        }

        if (restore && restoreSession is not null)
        {
            foreach (var text in texts.Texts)
            {
                text.Value = restoreSession.Restore(text.Value);
            }
        }

        return null;
    }

    /// <summary>Applies <paramref name="rule"/>'s <c>on_error</c> to a check that threw: refuse (fail closed) or report and go on (fail open).</summary>
    public void OnError(GuardrailRule rule, GuardrailCheck check, FindingsBuilder findings, string requestId, Exception error)
    {
        var guardrail = $"{rule.Id}/{check.Name}";
        GuardrailsLog.CheckFailed(logger, requestId, guardrail, rule.OnError == OnErrorMode.FailClosed ? "fail_closed" : "fail_open", error);
        if (rule.OnError == OnErrorMode.FailClosed)
        {
            throw new GuardrailFailedException(guardrail, error);
        }

        findings.Add(rule, check, "error", "fail_open");
    }

    private GuardrailBlock? Run(
        GuardrailRule rule, GuardrailCheck check, BodyTexts texts, PiiMaskSession maskSession, FindingsBuilder findings,
        ExternalModerationScores? external, CancellationToken cancellationToken)
    {
        var action = GuardrailNames.Of(check.Action);
        foreach (var text in texts.Texts)
        {
            // The application's own system prompt is not an injection attempt.
            if (check.Kind == CheckKind.PromptInjection && text.Role == TextRole.System)
            {
                continue;
            }

            if (check.Kind == CheckKind.Pii && check.Action == GuardrailAction.Mask)
            {
                var matches = pii.Scan(check, text.Value);
                if (matches.Count > 0)
                {
                    text.Value = maskSession.Mask(text.Value, matches);
                    foreach (var group in matches.GroupBy(match => match.Type))
                    {
                        findings.Add(rule, check, PiiTypes.Name(group.Key), action, group.Count());
                    }
                }

                continue;
            }

            IReadOnlyList<CheckHit> hits;
            if (check.ModerationModel is { } model && external is not null)
            {
                if (!external.Supplied)
                {
                    external.Need(model, text.Value, check.ModerationTimeout);
                    continue;
                }

                if (external.Scores(model, text.Value) is { } scores)
                {
                    hits = ModerationCheck.Hits(check, scores, text.Value.Length);
                }
                else
                {
                    findings.Add(rule, check, "model_unavailable", "fallback");
                    hits = For(check.Kind).Find(check, text.Value, cancellationToken);
                }
            }
            else
            {
                hits = For(check.Kind).Find(check, text.Value, cancellationToken);
            }

            foreach (var hit in hits)
            {
                findings.Add(rule, check, hit.Category, action);
            }

            if (hits.Count > 0 && check.Action == GuardrailAction.Block)
            {
                return new GuardrailBlock($"{rule.Id}/{check.Name}", hits[0].Category);
            }
        }

        return null;
    }
}
