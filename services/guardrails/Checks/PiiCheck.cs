using Gateway.Aspire.Guardrails.Pii;
using Gateway.Aspire.Guardrails.Rules;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>The <c>pii</c> check: the one place the rules engine calls the PII scanner, masking sessions and the streaming filter.</summary>
internal sealed class PiiCheck(PiiScanner scanner) : IContentCheck
{
    /// <inheritdoc />
    public CheckKind Kind => CheckKind.Pii;

    /// <inheritdoc />
    public IReadOnlyList<CheckHit> Find(GuardrailCheck check, string text, CancellationToken cancellationToken) =>
        [.. Scan(check, text).Select(match => new CheckHit(PiiTypes.Name(match.Type), match.Start, match.Length))];

    /// <summary>The scanner's matches of the check's types.</summary>
    public IReadOnlyList<PiiMatch> Scan(GuardrailCheck check, string text) => scanner.Scan(text, check.PiiTypes);

    /// <summary>
    /// A filter for one streamed choice: finds (and for <c>mask</c>, masks) values across delta
    /// boundaries. It never restores: <see cref="StreamingRestorer"/> does, with a session that knows
    /// only the request's own placeholders, so values the model wrote stay masked.
    /// </summary>
    public StreamingPiiFilter StreamFilter(GuardrailCheck check, PiiMaskSession session) =>
        new(scanner, check.PiiTypes, session, mask: check.Action == GuardrailAction.Mask, restore: false);
}
