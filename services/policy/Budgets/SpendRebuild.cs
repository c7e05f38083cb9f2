using Gateway.Aspire.ServiceDefaults.Configuration;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.Policy.Tokens;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Budgets;

/// <summary>
/// Rebuilds the current periods' budget counters from the ledger (accounting's spend totals), for
/// when Redis lost them (a flush, a failover without persistence, a new instance).
/// </summary>
/// <remarks>
/// Each ledger group (caller, requested model, the metadata rules use, UTC day) is turned back into
/// the call admission saw and counted, exactly as <see cref="BudgetCounters.Touches"/> does, into
/// every matching rule whose current period contains its day. The caller's subjects come from the
/// token when it is still live (all of a user's teams, as admission has them), else from the
/// ledger's columns (which keep one team). Then one MULTI/EXEC sets every counter and deletes the
/// current periods' counters the ledger has no spend for, so admissions see the old or the new
/// state, never a mix. Not captured: reservations of calls in flight during the rebuild, and usage
/// the routers have not yet shipped to the ledger; a call that settles after the rebuild moves the
/// rebuilt counter by its difference to the reservation it no longer holds.
/// </remarks>
public sealed class SpendRebuild(LiveConfig<PolicyRules> rules, IConnectionMultiplexer redis, TokenRepository tokens)
{
    // Read per use: the budgets follow the live configuration.
    private BudgetRules Budgets => rules.Current.Budgets;

    private static readonly TimeSpan s_keepAfterPeriod = TimeSpan.FromDays(1);

    /// <summary>Every budget rule, the global daily limit included.</summary>
    private IEnumerable<BudgetRule> AllRules => Budgets.GlobalDaily is { } global ? Budgets.Rules.Append(global) : Budgets.Rules;

    /// <summary>The range and metadata keys the ledger totals must cover at <paramref name="now"/>.</summary>
    public RebuildScopeReply Scope(DateTimeOffset now)
    {
        var reply = new RebuildScopeReply { Any = Budgets.Any, Now = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now) };
        if (!Budgets.Any)
        {
            return reply;
        }

        var from = AllRules.Min(r => r.Period.Containing(now).Start);
        reply.From = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(from);
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var rule in AllRules)
        {
            keys.UnionWith(rule.When.Metadata.Keys);
            keys.UnionWith(rule.AppliesPer.Where(e => e.StartsWith("metadata.", StringComparison.Ordinal)).Select(e => e["metadata.".Length..]));
        }

        reply.MetadataKeys.AddRange(keys);
        return reply;
    }

    /// <summary>Sets the counters of the periods containing <paramref name="now"/> to the sums of <paramref name="groups"/>.</summary>
    public async Task<RebuildSpendReply> RebuildAsync(DateTimeOffset now, IReadOnlyList<SpendGroup> groups, CancellationToken cancellationToken)
    {
        var counters = new SortedDictionary<string, (BudgetRule Rule, DateTimeOffset Start, DateTimeOffset End, long Spent)>(StringComparer.Ordinal);
        var callers = new Dictionary<string, TokenRecord?>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var call = await CallOfAsync(group, callers, cancellationToken);
            var day = group.Day.ToDateTimeOffset();
            foreach (var rule in Counting(call))
            {
                var (start, end) = rule.Period.Containing(now);
                if (day < start || day >= end)
                {
                    continue;
                }

                var key = BudgetCounters.CounterKey(rule, call, start);
                var spent = counters.TryGetValue(key, out var counter) ? counter.Spent : 0;
                counters[key] = (rule, start, end, spent + group.CostNanoUsd);
            }
        }

        var stale = await CurrentKeysAsync(now);
        stale.ExceptWith(counters.Keys);
        var transaction = redis.GetDatabase().CreateTransaction();
        var pending = new List<Task>();
        foreach (var key in stale)
        {
            pending.Add(transaction.KeyDeleteAsync(key));
        }

        foreach (var (key, counter) in counters)
        {
            pending.Add(transaction.StringSetAsync(key, counter.Spent, counter.End + s_keepAfterPeriod - now));
        }

        if (!await transaction.ExecuteAsync())
        {
            throw new RedisException("The spend rebuild transaction was not applied.");
        }

        await Task.WhenAll(pending);
        var reply = new RebuildSpendReply { Removed = stale.Count };
        reply.Counters.AddRange(counters.Values.Select(c => new RebuiltCounter
        {
            Rule = c.Rule.Id,
            PeriodStart = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(c.Start),
            SpentNanoUsd = c.Spent,
        }));
        return reply;
    }

    // What admission counts a call into: every matching rule and the global daily limit.
    private IEnumerable<BudgetRule> Counting(AdmissionCall call) =>
        Budgets.GlobalDaily is { } global ? Budgets.Matching(call).Append(global) : Budgets.Matching(call);

    private async Task<AdmissionCall> CallOfAsync(SpendGroup group, Dictionary<string, TokenRecord?> callers, CancellationToken cancellationToken)
    {
        if (!callers.TryGetValue(group.TokenId, out var record))
        {
            record = Guid.TryParse(group.TokenId, out var id) ? (await tokens.FindActiveAsync(id, cancellationToken))?.Record : null;
            callers[group.TokenId] = record;
        }

        if (record is not null)
        {
            return new AdmissionCall(record.Subjects(), record.VirtualAccountName ?? "", group.RequestedModel, group.Metadata, 0, 0)
            {
                User = record.User ?? "",
                Teams = record.Teams,
            };
        }

        // A revoked or deleted token: who the ledger says called.
        IReadOnlyList<string> teams = group.Team.Length > 0 ? [group.Team] : [];
        List<string> subjects = [group.VirtualAccount.Length > 0 ? "virtualaccount:" + group.VirtualAccount : "user:" + group.User];
        subjects.AddRange(teams.Select(t => "team:" + t));
        return new AdmissionCall(subjects, group.VirtualAccount, group.RequestedModel, group.Metadata, 0, 0)
        {
            User = group.User,
            Teams = teams,
        };
    }

    // Every counter of a current period in Redis (SCAN, not KEYS: it does not block the server).
    private async Task<HashSet<string>> CurrentKeysAsync(DateTimeOffset now)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in AllRules)
        {
            var prefix = $"{BudgetCounters.KeyPrefix}{rule.Id}:{rule.Period.Name}:{rule.Period.Containing(now).Start:yyyy-MM-dd}";
            foreach (var server in redis.GetServers().Where(s => s.IsConnected && !s.IsReplica))
            {
                await foreach (var key in server.KeysAsync(pattern: EscapeGlob(prefix) + "*"))
                {
                    var name = key.ToString();
                    if (name.Length == prefix.Length || name[prefix.Length] == ':')
                    {
                        keys.Add(name);
                    }
                }
            }
        }

        return keys;
    }

    private static string EscapeGlob(string value) =>
        string.Concat(value.Select(c => c is '*' or '?' or '[' or ']' or '\\' ? "\\" + c : c.ToString()));
}
