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

    [LoggerMessage(EventId = 102, EventName = "OutputChecked", Level = LogLevel.Debug,
        Message = "Checked output of request {RequestId} for {Model} on {Api} ({Bytes} bytes): {Verdict}")]
    public static partial void OutputChecked(ILogger logger, string requestId, string model, string api, int bytes, string verdict);

    [LoggerMessage(EventId = 103, EventName = "StreamChecked", Level = LogLevel.Debug,
        Message = "Checked stream of request {RequestId} for {Model} on {Api} ({Deltas} deltas): {Verdict}")]
    public static partial void StreamChecked(ILogger logger, string requestId, string model, string api, int deltas, string verdict);

    [LoggerMessage(EventId = 104, EventName = "GuardrailBlocked", Level = LogLevel.Information,
        Message = "Request {RequestId} blocked by guardrail {Guardrail} ({Category})")]
    public static partial void Blocked(ILogger logger, string requestId, string guardrail, string category);

    [LoggerMessage(EventId = 105, EventName = "GuardrailCheckFailed", Level = LogLevel.Warning,
        Message = "Guardrail {Guardrail} failed on request {RequestId}; applying {OnError}")]
    public static partial void CheckFailed(ILogger logger, string requestId, string guardrail, string onError, Exception exception);
}
