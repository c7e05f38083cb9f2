using Gateway.Aspire.ServiceDefaults.Configuration;
using Grpc.Core;
using LedgerFinding = Gateway.Aspire.Accounting.Grpc.GuardrailFinding;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>Which side of a call guardrails check: the request (<c>input</c>) or the answer (<c>output</c>).</summary>
internal enum GuardrailStage
{
    /// <summary>The request, before it goes upstream.</summary>
    Input,

    /// <summary>The answer, whole or streamed.</summary>
    Output,
}

/// <summary>
/// What the router does when a guardrails call fails: the <c>on_error</c> of every rule that applies
/// at that stage, read from <c>gateway.yaml</c> (<see cref="GuardrailRuleScope"/>), so the decision
/// needs nothing from the service that could not be reached.
/// </summary>
/// <param name="FailedOpen">The call goes on unchecked: every rule that applies fails open (or none applies).</param>
/// <param name="ClosedBy">The first applying rule that fails closed; empty when the call goes on, or when the service itself refused (a check failed inside a fail_closed rule).</param>
/// <param name="Findings">What the ledger records: one finding per applying rule, action <c>fail_open</c> or <c>fail_closed</c>.</param>
internal sealed record GuardrailsOutage(bool FailedOpen, string ClosedBy, IReadOnlyList<LedgerFinding> Findings)
{
    /// <summary>
    /// The statuses that mean the service could not be asked. Any other status is the service's own
    /// answer (<c>Internal</c>: a check failed in a fail_closed rule, which the service already
    /// applied), so it refuses the call whatever the rules say.
    /// </summary>
    public static bool IsUnreachable(RpcException error) =>
        error.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Unknown or StatusCode.Cancelled;

    /// <summary>Applies the rules' <c>on_error</c> to a failed guardrails call at <paramref name="stage"/>.</summary>
    public static GuardrailsOutage Decide(
        RpcException error,
        IReadOnlyList<GuardrailRuleScope> rules,
        GuardrailStage stage,
        IReadOnlyCollection<string> subjects,
        string model,
        IReadOnlyDictionary<string, string> metadata)
    {
        var stageName = Name(stage);
        // Without rules in gateway.yaml (the check forced by Router:CheckInputGuardrails) the router
        // cannot know what the service would have checked, so it refuses.
        if (!IsUnreachable(error) || rules.Count == 0)
        {
            return new GuardrailsOutage(false, "", []);
        }

        var findings = new List<LedgerFinding>();
        var closedBy = "";
        foreach (var rule in rules)
        {
            if ((stage == GuardrailStage.Input ? rule.HasInput : rule.HasOutput) && rule.Matches(subjects, model, metadata))
            {
                closedBy = closedBy.Length == 0 && !rule.FailOpen ? rule.Id : closedBy;
                findings.Add(new LedgerFinding
                {
                    Rule = rule.Id,
                    Category = "unavailable",
                    Action = rule.FailOpen ? "fail_open" : "fail_closed",
                    Count = 1,
                    Stage = stageName,
                });
            }
        }

        return new GuardrailsOutage(closedBy.Length == 0, closedBy, findings);
    }

    /// <summary>Whether a matching rule checks the answer: the output check still runs after an input outage that failed open.</summary>
    public static bool AnyOutputRule(IReadOnlyList<GuardrailRuleScope> rules, IReadOnlyCollection<string> subjects, string model, IReadOnlyDictionary<string, string> metadata) =>
        rules.Any(rule => rule.HasOutput && rule.Matches(subjects, model, metadata));

    /// <summary>The client's message when the call is refused: names the rule, never content.</summary>
    public string Message(GuardrailStage stage) => ClosedBy.Length > 0
        ? $"Guardrail rule '{ClosedBy}' cannot check this {(stage == GuardrailStage.Input ? "request" : "answer")} right now (the guardrails service is unreachable) and is set to fail closed; retry shortly."
        : $"The gateway cannot check this {(stage == GuardrailStage.Input ? "request" : "answer")} right now; retry shortly.";

    /// <summary>The stage as logs, metrics and the ledger name it.</summary>
    public static string Name(GuardrailStage stage) => stage == GuardrailStage.Input ? "input" : "output";

    /// <summary>Copies the service's findings into the ledger's form.</summary>
    public static void AddFindings(List<LedgerFinding> to, IEnumerable<Guardrails.Grpc.Finding> findings, GuardrailStage stage)
    {
        foreach (var finding in findings)
        {
            to.Add(new LedgerFinding
            {
                Rule = finding.Rule,
                Check = finding.Check,
                Category = finding.Category,
                Action = finding.Action,
                Count = finding.Count,
                Stage = Name(stage),
            });
        }
    }
}
