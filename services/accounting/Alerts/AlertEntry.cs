using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.ServiceDefaults.Billing;
using StackExchange.Redis;

namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>One alert read from <see cref="AlertQueue.Stream"/>, and the messages it becomes.</summary>
/// <param name="Id">The stream entry id: the alert's id in every payload (receivers can dedupe on it).</param>
/// <param name="Fields">The entry's fields (<see cref="AlertQueue"/> names them).</param>
/// <param name="Targets">Where it goes.</param>
public sealed record AlertEntry(string Id, IReadOnlyDictionary<string, string> Fields, IReadOnlyList<AlertTarget> Targets)
{
    /// <summary>The event type (<see cref="AlertQueue.BudgetWarning"/> ...).</summary>
    public string Kind => Field(AlertQueue.Kind);

    /// <summary>When it was raised.</summary>
    public DateTimeOffset Time => DateTimeOffset.FromUnixTimeMilliseconds(Long(AlertQueue.Time));

    private bool IsBudget => Kind is AlertQueue.BudgetWarning or AlertQueue.BudgetExceeded;

    /// <summary>Reads a stream entry; null when it is not an alert this version understands.</summary>
    public static AlertEntry? From(StreamEntry entry)
    {
        var fields = entry.Values.ToDictionary(v => v.Name.ToString(), v => v.Value.ToString(), StringComparer.Ordinal);
        if (!fields.TryGetValue(AlertQueue.Kind, out var kind)
            || kind is not (AlertQueue.BudgetWarning or AlertQueue.BudgetExceeded or AlertQueue.ErrorRate or AlertQueue.Latency)
            || !fields.ContainsKey(AlertQueue.Rule) || !fields.TryGetValue(AlertQueue.Time, out var time) || !long.TryParse(time, CultureInfo.InvariantCulture, out _)
            || AlertTarget.ParseAll(fields.GetValueOrDefault(AlertQueue.Targets, "[]")) is not { } targets)
        {
            return null;
        }

        return new AlertEntry(entry.Id.ToString(), fields, targets);
    }

    /// <summary>
    /// The generic JSON (webhook body; the event feed's event has the same members, see <see cref="AlertEvent"/>): <c>type</c>, <c>id</c>, <c>time</c>,
    /// <c>rule</c>, <c>scope</c>, <c>message</c>, then for budgets <c>threshold_percent</c>,
    /// <c>spent_usd</c>, <c>limit_usd</c>, <c>period_end</c>; for model alerts <c>metric</c>,
    /// <c>value</c>, <c>threshold</c>, <c>window_seconds</c>, <c>requests</c>.
    /// </summary>
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", Kind);
            json.WriteString("id", Id);
            json.WriteString("time", Time.UtcDateTime);
            WriteFields(json);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The members after <c>type</c>, <c>id</c> and <c>time</c> (see <see cref="ToJson"/>), into an open object.</summary>
    public void WriteFields(Utf8JsonWriter json)
    {
        json.WriteString("rule", Field(AlertQueue.Rule));
        json.WriteString("scope", Field(AlertQueue.Scope));
        json.WriteString("message", Message());
        if (IsBudget)
        {
            json.WriteNumber("threshold_percent", Long(AlertQueue.Threshold));
            json.WriteNumber("spent_usd", NanoUsd.ToUsd(Long(AlertQueue.Value)));
            json.WriteNumber("limit_usd", NanoUsd.ToUsd(Long(AlertQueue.Limit)));
            json.WriteString("period_end", DateTimeOffset.FromUnixTimeMilliseconds(Long(AlertQueue.PeriodEnd)).UtcDateTime);
        }
        else
        {
            json.WriteString("metric", Kind == AlertQueue.ErrorRate ? "error_rate_percent" : "p95_latency_ms");
            json.WriteNumber("value", Number(AlertQueue.Value));
            json.WriteNumber("threshold", Number(AlertQueue.Threshold));
            json.WriteNumber("window_seconds", Long(AlertQueue.Window));
            json.WriteNumber("requests", Long(AlertQueue.Requests));
        }
    }

    /// <summary>Slack's incoming-webhook body: <c>{"text": ...}</c>.</summary>
    public byte[] ToSlackJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("text", (Kind is AlertQueue.BudgetWarning ? ":warning: " : ":rotating_light: ") + Message());
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One line a person reads: what, who, how much.</summary>
    public string Message()
    {
        var rule = Field(AlertQueue.Rule);
        var scope = Field(AlertQueue.Scope) is { Length: > 0 } s ? $" ({s})" : "";
        if (IsBudget)
        {
            var what = Kind == AlertQueue.BudgetExceeded ? "is exhausted" : $"reached {Long(AlertQueue.Threshold)}%";
            return string.Create(CultureInfo.InvariantCulture,
                $"Budget '{rule}'{scope} {what}: {NanoUsd.ToUsd(Long(AlertQueue.Value)):0.######} of {NanoUsd.ToUsd(Long(AlertQueue.Limit)):0.######} USD spent or reserved; "
                + $"the period ends {DateTimeOffset.FromUnixTimeMilliseconds(Long(AlertQueue.PeriodEnd)):yyyy-MM-dd'T'HH:mm:ss'Z'}.");
        }

        var minutes = Long(AlertQueue.Window) / 60.0;
        return Kind == AlertQueue.ErrorRate
            ? string.Create(CultureInfo.InvariantCulture,
                $"Alert '{rule}'{scope}: error rate {Number(AlertQueue.Value):0.#}% over the last {minutes:0.#} min ({Long(AlertQueue.Requests)} requests), above {Number(AlertQueue.Threshold):0.#}%.")
            : string.Create(CultureInfo.InvariantCulture,
                $"Alert '{rule}'{scope}: p95 latency {Number(AlertQueue.Value):0} ms over the last {minutes:0.#} min ({Long(AlertQueue.Requests)} requests), above {Number(AlertQueue.Threshold):0} ms.");
    }

    private string Field(string name) => Fields.GetValueOrDefault(name, "");

    private long Long(string name) => long.TryParse(Field(name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : 0;

    private decimal Number(string name) =>
        decimal.TryParse(Field(name), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : 0m;
}
