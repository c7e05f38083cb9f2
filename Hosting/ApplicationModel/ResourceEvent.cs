namespace Gateway.Aspire.Hosting.ApplicationModel;

/// <summary>The states a resource goes through while the application runs, as Aspire's dashboard shows them.</summary>
public enum ResourceState
{
    /// <summary>What it waits for is healthy; it is being started.</summary>
    Starting,

    /// <summary>Healthy (a project answers /health, a server answers), or an external one is in use.</summary>
    Running,

    /// <summary>It could not be started or did not become healthy.</summary>
    FailedToStart,

    /// <summary>Stopped by the AppHost.</summary>
    Stopped,
}

/// <summary>
/// A resource changed state. The application keeps these in order of occurrence, so tests (and
/// people reading the output) can see that a dependent started only after what it waits for ran.
/// </summary>
/// <param name="Resource">Resource name.</param>
/// <param name="State">The new state.</param>
/// <param name="ProcessId">The resource's process, when it has one.</param>
public sealed record ResourceEvent(string Resource, ResourceState State, int? ProcessId = null);
