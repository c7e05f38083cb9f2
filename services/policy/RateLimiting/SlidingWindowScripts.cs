namespace Gateway.Aspire.Policy.RateLimiting;

/// <summary>
/// The sliding window behind rate limits (documentation only: the admission half runs inside
/// <see cref="Admission.AdmissionScript"/> with the budgets, settlements in <see cref="Admission.SettlementBatch"/>).
/// </summary>
/// <remarks>
/// <para>Algorithm: a sliding window of <c>N + 1</c> buckets, each <c>window / N</c> wide (N =
/// <see cref="RateLimiter.Buckets"/>), kept in one Redis hash (field = bucket number, value = units
/// admitted in it). A call is admitted when the units of the live buckets plus its cost fit the
/// limit. A unit stops counting when its bucket leaves the window, between <c>window</c> and
/// <c>window + window/N</c> after it was admitted.</para>
/// <para>Error bound: never more than <c>limit</c> units are admitted in any interval of length
/// <c>window</c> (when the last of them was admitted, all the others were still counted, since each
/// counts for at least <c>window</c>). The only error is on the safe side: capacity comes back up to
/// <c>window/N</c> late (1 s for a minute, 1 min for an hour, 24 min for a day). Token limits add the
/// estimate error: a call's reservation is settled to actual usage afterwards, so a call that used
/// more than it reserved can push its window over by that difference.</para>
/// <para>"Now" is an argument, not Redis <c>TIME</c>: the policy replicas' clock (an injected
/// <see cref="TimeProvider"/>) decides, which lets tests drive windows with a fake clock. Replicas'
/// clocks must agree to well under a bucket width (NTP does).</para>
/// <para>StackExchange.Redis sends EVALSHA once a script is known to the server and falls back to
/// EVAL after a server restart flushed its script cache; one round trip per admission.</para>
/// </remarks>
internal static class SlidingWindowScripts
{
}
