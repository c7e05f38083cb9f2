namespace Gateway.Aspire.Policy;

/// <summary>Source-generated log messages of the policy service. Never logs a token or key.</summary>
internal static partial class PolicyLog
{
    [LoggerMessage(EventId = 100, EventName = "AdminKeyMissing", Level = LogLevel.Warning,
        Message = "Admin call {Method} without an admin key")]
    public static partial void AdminKeyMissing(ILogger logger, string method);

    [LoggerMessage(EventId = 101, EventName = "AdminKeyRejected", Level = LogLevel.Warning,
        Message = "Admin call {Method} with a wrong admin key")]
    public static partial void AdminKeyRejected(ILogger logger, string method);

    [LoggerMessage(EventId = 102, EventName = "AdminPermissionDenied", Level = LogLevel.Warning,
        Message = "Admin call {Method} with token {TokenId}, which is not an admin's")]
    public static partial void AdminPermissionDenied(ILogger logger, string method, Guid tokenId);

    [LoggerMessage(EventId = 110, EventName = "TokenCreated", Level = LogLevel.Information,
        Message = "Created token {TokenId} '{TokenName}' ({Prefix}…) for {ModelCount} models (0 = all), expires {ExpiresAt}")]
    public static partial void TokenCreated(ILogger logger, Guid tokenId, string tokenName, string prefix, int modelCount, DateTimeOffset? expiresAt);

    [LoggerMessage(EventId = 111, EventName = "TokenRevoked", Level = LogLevel.Information,
        Message = "Revoked token {TokenId}")]
    public static partial void TokenRevoked(ILogger logger, Guid tokenId);

    [LoggerMessage(EventId = 112, EventName = "TokenRotated", Level = LogLevel.Information,
        Message = "Rotated token {TokenId} to {NewTokenId}; the old secret works until {OldExpiresAt}")]
    public static partial void TokenRotated(ILogger logger, Guid tokenId, Guid newTokenId, DateTimeOffset? oldExpiresAt);

    [LoggerMessage(EventId = 120, EventName = "IdentityChanged", Level = LogLevel.Information,
        Message = "{Change} {Kind} '{Name}'; {Tokens} tokens invalidated")]
    public static partial void IdentityChanged(ILogger logger, string change, string kind, string name, int tokens);

    [LoggerMessage(EventId = 203, EventName = "InvalidationFailed", Level = LogLevel.Warning,
        Message = "Token invalidation incomplete; replicas converge within the cache lifetimes (memory 1 s, Redis 10 min): {Error}")]
    public static partial void InvalidationFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 200, EventName = "RedisUnavailable", Level = LogLevel.Warning,
        Message = "Redis unavailable for token lookup; falling back to PostgreSQL: {Error}")]
    public static partial void RedisUnavailable(ILogger logger, string error);

    [LoggerMessage(EventId = 201, EventName = "PostgresUnavailable", Level = LogLevel.Error,
        Message = "PostgreSQL unavailable for token lookup: {Error}")]
    public static partial void PostgresUnavailable(ILogger logger, string error);

    [LoggerMessage(EventId = 202, EventName = "AdmissionDenied", Level = LogLevel.Debug,
        Message = "Request {RequestId} not admitted: {Decision}")]
    public static partial void AdmissionDenied(ILogger logger, string requestId, string decision);

    [LoggerMessage(EventId = 300, EventName = "RateLimited", Level = LogLevel.Debug,
        Message = "Request {RequestId} limited by rate-limit rule {RuleId}")]
    public static partial void RateLimited(ILogger logger, string requestId, string ruleId);

    [LoggerMessage(EventId = 301, EventName = "RateLimitStoreUnavailable", Level = LogLevel.Error,
        Message = "Redis unavailable for rate limits (request {RequestId}): {Error}")]
    public static partial void RateLimitStoreUnavailable(ILogger logger, string requestId, string error);

    [LoggerMessage(EventId = 302, EventName = "BatchSettled", Level = LogLevel.Debug,
        Message = "Settlement batch {BatchId}: {Items} item(s), {Settled} reservation(s) settled, applied now: {Applied}")]
    public static partial void BatchSettled(ILogger logger, string batchId, int items, long settled, bool applied);

    [LoggerMessage(EventId = 400, EventName = "BudgetExceeded", Level = LogLevel.Information,
        Message = "Request {RequestId} refused by hard budget {RuleId}")]
    public static partial void BudgetExceeded(ILogger logger, string requestId, string ruleId);

    [LoggerMessage(EventId = 401, EventName = "SoftBudgetExceeded", Level = LogLevel.Warning,
        Message = "Request {RequestId} took soft budget {RuleId} over its limit (allowed: soft budgets never block)")]
    public static partial void SoftBudgetExceeded(ILogger logger, string requestId, string ruleId);

    [LoggerMessage(EventId = 402, EventName = "BudgetThresholdCrossed", Level = LogLevel.Warning,
        Message = "Request {RequestId} took budget {RuleId} past {Percent}% of its limit (alert delivery is pending: accounting's work)")]
    public static partial void BudgetThresholdCrossed(ILogger logger, string requestId, string ruleId, int percent);

    [LoggerMessage(EventId = 410, EventName = "SpendRebuilt", Level = LogLevel.Warning,
        Message = "Budget spend counters rebuilt from {Groups} ledger groups: {Counters} set, {Removed} removed")]
    public static partial void SpendRebuilt(ILogger logger, int groups, int counters, int removed);

    [LoggerMessage(EventId = 500, EventName = "ConfigPublished", Level = LogLevel.Information,
        Message = "Published configuration version {Version} ({Length} characters)")]
    public static partial void ConfigPublished(ILogger logger, long version, int length);

    [LoggerMessage(EventId = 501, EventName = "ConfigPublishFailed", Level = LogLevel.Error,
        Message = "Could not publish configuration version {Version} (retrying): {Error}")]
    public static partial void ConfigPublishFailed(ILogger logger, long version, string error);

    [LoggerMessage(EventId = 502, EventName = "ConfigChanged", Level = LogLevel.Information,
        Message = "Configuration version {Version} by {Actor}: {Action} {Documents}")]
    public static partial void ConfigChanged(ILogger logger, long version, string actor, string action, string documents);
}
