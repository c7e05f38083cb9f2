using System.Text.Json;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.ServiceDefaults.Events;

namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>
/// An alert as a gateway event (<c>model.budget.warning</c>, <c>model.budget.exceeded</c>): the
/// webhook body's members (<see cref="AlertEntry.ToJson"/>) under the alert's own id and time, plus
/// <c>team</c> when the alert is about one team (<c>team=research</c> in its scope), so that team's
/// admins see it on their filtered feed.
/// </summary>
public sealed class AlertEvent : GatewayEvent
{
    private readonly AlertEntry _alert;
    private readonly string? _team;

    /// <summary>The event of <paramref name="alert"/>.</summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public AlertEvent(AlertEntry alert)
    {
        _alert = alert;
        Id = alert.Id;
        Time = alert.Time;
        _team = alert.Fields.GetValueOrDefault(AlertQueue.Scope, "").Split(", ")
            .Select(part => part.StartsWith("team=", StringComparison.Ordinal) ? part["team=".Length..] : null)
            .FirstOrDefault(team => !string.IsNullOrEmpty(team));
    }

    /// <inheritdoc />
    public override string Type => _alert.Kind;

    /// <inheritdoc />
    protected override void WriteFields(Utf8JsonWriter writer)
    {
        if (_team is not null)
        {
            writer.WriteString("team", _team);
        }

        _alert.WriteFields(writer);
    }
}
