using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Aspire.Accounting.Tests.Alerts;

/// <summary>
/// Reads <c>gateway.alert.deliveries</c> of one accounting host: only instruments of that host's
/// <see cref="IMeterFactory"/> (their meter's scope), so hosts of tests running beside it do not count.
/// </summary>
internal sealed class DeliveryCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Type, string Outcome), long> _counts = new();

    public DeliveryCounter(AccountingTestHost host)
    {
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "gateway.alert.deliveries" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? type = null, outcome = null;
            foreach (var tag in tags)
            {
                (type, outcome) = tag.Key switch
                {
                    "type" => (tag.Value as string, outcome),
                    "outcome" => (type, tag.Value as string),
                    _ => (type, outcome),
                };
            }

            _counts.AddOrUpdate((type ?? "", outcome ?? ""), value, (_, sum) => sum + value);
        });
        _listener.Start();
    }

    /// <summary>The count of (type, outcome) so far.</summary>
    public long this[string type, string outcome] => _counts.GetValueOrDefault((type, outcome));

    public void Dispose() => _listener.Dispose();
}
