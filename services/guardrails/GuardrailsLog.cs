namespace Gateway.Aspire.Guardrails;

/// <summary>Source-generated log messages of the guardrails service. Never logs request content.</summary>
internal static partial class GuardrailsLog
{
    [LoggerMessage(EventId = 100, EventName = "InputChecked", Level = LogLevel.Debug,
        Message = "Checked input of request {RequestId} for {Model} on {Api} ({Bytes} bytes): {Verdict}")]
    public static partial void InputChecked(ILogger logger, string requestId, string model, string api, int bytes, string verdict);

    [LoggerMessage(EventId = 101, EventName = "Moderated", Level = LogLevel.Debug,
        Message = "Moderated {Inputs} inputs of request {RequestId} ({Bytes} bytes): {Flagged} flagged")]
    public static partial void Moderated(ILogger logger, string requestId, int inputs, long bytes, int flagged);
}
