namespace Gateway.Aspire.ServiceDefaults.Configuration;

/// <summary>
/// The configuration a service runs with right now: an immutable snapshot swapped whole by
/// <see cref="LiveConfigSubscriber{T}"/>. A request reads <see cref="Current"/> once and keeps that
/// snapshot to the end, so it never sees half of one version and half of the next; readers never lock.
/// </summary>
/// <typeparam name="T">The service's immutable configuration (rules, catalog ...).</typeparam>
public sealed class LiveConfig<T> where T : class
{
    // Value and version travel together in one object so a reader never pairs one version's value with another's number.
    private volatile Snapshot _snapshot;

    /// <summary>Starts with <paramref name="initial"/> (the configuration file's) as version 0.</summary>
    public LiveConfig(T initial) => _snapshot = new Snapshot(initial, 0);

    /// <summary>The snapshot in force: one volatile read.</summary>
    public T Current => _snapshot.Value;

    /// <summary>
    /// The <see cref="LiveConfigChannel.VersionField"/> of <see cref="Current"/>; 0 while the
    /// configuration file's own snapshot is in force.
    /// </summary>
    public long Version => _snapshot.Version;

    /// <summary>Puts <paramref name="value"/> in force as <paramref name="version"/> for requests that start from now on.</summary>
    public void Replace(T value, long version) => _snapshot = new Snapshot(value, version);

    private sealed record Snapshot(T Value, long Version);
}
