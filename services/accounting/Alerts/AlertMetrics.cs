using System.Diagnostics.Metrics;
using Gateway.Aspire.Accounting.Ledger;

namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>
/// <c>gateway_alert_deliveries_total{type, outcome}</c>: every delivery attempt to a target by its
/// outcome (<c>delivered</c>, <c>retry</c>, <c>rejected</c>), and <c>abandoned</c> for a target still
/// failing after the last attempt. A refused or abandoned alert is otherwise only a log line, and an
/// operator alerts on this counter so that broken alerting does not go unnoticed.
/// </summary>
public sealed class AlertMetrics
{
    private readonly Counter<long> _deliveries;

    /// <summary>Creates the counter on the accounting meter.</summary>
    public AlertMetrics(IMeterFactory meters) =>
        _deliveries = meters.Create(LedgerSpool.MeterName).CreateCounter<long>("gateway.alert.deliveries",
            description: "Alert delivery attempts by target type and outcome (delivered, retry, rejected), and targets abandoned.");

    /// <summary>Counts one attempt to a <paramref name="type"/> target.</summary>
    public void Attempted(string type, DeliveryResult result) => Add(type, result switch
    {
        DeliveryResult.Delivered => "delivered",
        DeliveryResult.Retry => "retry",
        _ => "rejected",
    });

    /// <summary>Counts a <paramref name="type"/> target given up after the last attempt.</summary>
    public void Abandoned(string type) => Add(type, "abandoned");

    // Types are the loaders' known ones (webhook, slack-webhook, email); anything else read from the queue is one label.
    private void Add(string type, string outcome) =>
        _deliveries.Add(1, new KeyValuePair<string, object?>("type", type is "webhook" or "slack-webhook" or "email" ? type : "other"),
            new KeyValuePair<string, object?>("outcome", outcome));
}
