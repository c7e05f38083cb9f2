using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Gateway.Aspire.Policy.Budgets;

/// <summary>
/// A rule's <c>alerts</c>: percentages of the limit to alert at and where to send them. Admission
/// queues one alert per threshold, scope and period (<see cref="Admission.AdmissionScript"/>); the
/// accounting service delivers it to <see cref="Targets"/>.
/// </summary>
/// <param name="Thresholds">Percentages of <c>limit_to</c>, 1–100, ascending, e.g. [75, 90, 100].</param>
/// <param name="Targets"><c>notification_target</c>; may be empty (the alerts then only reach the event feed).</param>
public sealed record BudgetAlerts(IReadOnlyList<int> Thresholds, IReadOnlyList<NotificationTarget> Targets)
{
    /// <summary>The targets as the alert queue carries them (a JSON array), built once at load.</summary>
    public string TargetsJson { get; } = NotificationTarget.ToJson(Targets);
}

/// <summary>
/// One <c>notification_target</c>: <c>{type: webhook, url}</c> (a generic JSON POST),
/// <c>{type: slack-webhook, url}</c> (Slack's incoming-webhook payload) or <c>{type: email, to: [...]}</c>
/// (SMTP, when accounting has a server configured).
/// </summary>
/// <param name="Type">webhook, slack-webhook or email.</param>
/// <param name="Url">The webhook URL (absolute http/https, or a whole <c>${ENV}</c> reference accounting resolves); null for email.</param>
/// <param name="To">Recipients of an email target; empty otherwise.</param>
public sealed record NotificationTarget(string Type, string? Url, IReadOnlyList<string> To)
{
    /// <summary>The target types accounting can deliver.</summary>
    public static readonly IReadOnlyList<string> Types = ["webhook", "slack-webhook", "email"];

    /// <summary>The JSON array the alert queue carries: <c>[{"type":"webhook","url":"..."},{"type":"email","to":["..."]}]</c>.</summary>
    public static string ToJson(IReadOnlyList<NotificationTarget> targets)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var target in targets)
            {
                json.WriteStartObject();
                json.WriteString("type", target.Type);
                if (target.Url is not null)
                {
                    json.WriteString("url", target.Url);
                }

                if (target.To.Count > 0)
                {
                    json.WriteStartArray("to");
                    foreach (var to in target.To)
                    {
                        json.WriteStringValue(to);
                    }

                    json.WriteEndArray();
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
