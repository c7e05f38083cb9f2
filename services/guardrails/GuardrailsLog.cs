namespace Gateway.Aspire.Guardrails;

/// <summary>Source-generated log messages of the guardrails service. Never logs request content.</summary>
internal static partial class GuardrailsLog
{
    [LoggerMessage(EventId = 100, EventName = "InputChecked", Level = LogLevel.Debug,
        Message = "Checked input of request {RequestId} for {Model} on {Api} ({Bytes} bytes): {Verdict}")]
    public static partial void InputChecked(ILogger logger, string requestId, string model, string api, int bytes, string verdict);
}
