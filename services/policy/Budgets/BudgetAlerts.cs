namespace Gateway.Aspire.Policy.Budgets;

/// <summary>
/// A rule's <c>alerts</c>: percentages of the limit to alert at and where to send them. Parsed and
/// validated now and reported by admission as thresholds are crossed; delivery to the targets is the
/// accounting service's later work.
/// </summary>
/// <param name="Thresholds">Percentages of <c>limit_to</c>, 1–100, ascending, e.g. [75, 90, 100].</param>
/// <param name="Targets"><c>notification_target</c>.</param>
public sealed record BudgetAlerts(IReadOnlyList<int> Thresholds, IReadOnlyList<NotificationTarget> Targets);

/// <summary>
/// One <c>notification_target</c> (TrueFoundry's shape): <c>type</c> <c>email</c> (with
/// <c>to_emails</c>), <c>slack-webhook</c> or <c>slack-bot</c> (with <c>channels</c>), and the
/// <c>notification_channel</c> that delivers it.
/// </summary>
/// <param name="Type">email, slack-webhook or slack-bot.</param>
/// <param name="NotificationChannel">The configured channel that sends the alert.</param>
/// <param name="ToEmails">Recipients of an email target; empty otherwise.</param>
/// <param name="Channels">Slack channels of a slack-bot target; empty otherwise.</param>
public sealed record NotificationTarget(string Type, string NotificationChannel, IReadOnlyList<string> ToEmails, IReadOnlyList<string> Channels)
{
    /// <summary>The target types TrueFoundry defines.</summary>
    public static readonly IReadOnlyList<string> Types = ["email", "slack-webhook", "slack-bot"];
}
