using System.Diagnostics.Tracing;

namespace Gateway.Aspire.Bench;

/// <summary>
/// Allocated bytes by type in this process, from the runtime's <c>GCAllocationTick</c> events (one
/// about every 100 KB allocated, carrying the type of the allocation that crossed the mark and the
/// amount since the previous one): a sampled breakdown, accurate in its larger shares.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private const int AllocationTickEventId = 10;

    private readonly Dictionary<string, long> _bytes = [];
    private volatile bool _recording;

    /// <summary>Starts counting (the listener is attached from construction, counting only between start and stop).</summary>
    public void Start()
    {
        lock (_bytes)
        {
            _bytes.Clear();
        }

        _recording = true;
    }

    /// <summary>Stops counting and returns bytes by type, largest first.</summary>
    public IReadOnlyList<(string Type, long Bytes)> Stop()
    {
        _recording = false;
        lock (_bytes)
        {
            return [.. _bytes.OrderByDescending(kv => kv.Value).Select(kv => (kv.Key, kv.Value))];
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == RuntimeSource)
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventId != AllocationTickEventId || eventData.PayloadNames is null)
        {
            return;
        }

        var type = eventData.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload![t] as string ?? "?" : "?";
        var amount = eventData.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload![a], System.Globalization.CultureInfo.InvariantCulture) : 0;
        lock (_bytes)
        {
            _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
        }
    }
}
