using System.Collections;
using DockerToVms.Tasks.Tests.Infrastructure;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Tests.Robustness;

/// <summary>
/// A recording build engine that also keeps the objects tasks register for the build's
/// lifetime, and disposes them on <see cref="EndBuild"/> as MSBuild does when a build ends.
/// </summary>
internal sealed class BuildLifetimeEngine : IBuildEngine4
{
    private readonly Dictionary<object, object> _registered = [];

    public RecordingBuildEngine Recorder { get; } = new();

    /// <summary>Disposes every object still registered, as the end of a build does.</summary>
    public void EndBuild()
    {
        foreach (var item in _registered.Values.OfType<IDisposable>().ToList())
        {
            item.Dispose();
        }

        _registered.Clear();
    }

    public void RegisterTaskObject(object key, object obj, RegisteredTaskObjectLifetime lifetime,
        bool allowEarlyCollection) => _registered[key] = obj;

    public object? GetRegisteredTaskObject(object key, RegisteredTaskObjectLifetime lifetime) =>
        _registered.GetValueOrDefault(key);

    public object? UnregisterTaskObject(object key, RegisteredTaskObjectLifetime lifetime) =>
        _registered.Remove(key, out var value) ? value : null;

    public bool IsRunningMultipleNodes => false;

    public bool ContinueOnError => false;

    public int LineNumberOfTaskNode => 0;

    public int ColumnNumberOfTaskNode => 0;

    public string ProjectFileOfTaskNode => "test.proj";

    public void LogErrorEvent(BuildErrorEventArgs e) => Recorder.LogErrorEvent(e);

    public void LogWarningEvent(BuildWarningEventArgs e) => Recorder.LogWarningEvent(e);

    public void LogMessageEvent(BuildMessageEventArgs e) => Recorder.LogMessageEvent(e);

    public void LogCustomEvent(CustomBuildEventArgs e)
    {
    }

    public bool BuildProjectFile(string projectFileName, string[] targetNames,
        IDictionary globalProperties, IDictionary targetOutputs) =>
        throw new NotSupportedException();

    public bool BuildProjectFile(string projectFileName, string[] targetNames,
        IDictionary globalProperties, IDictionary targetOutputs, string toolsVersion) =>
        throw new NotSupportedException();

    public bool BuildProjectFilesInParallel(string[] projectFileNames, string[] targetNames,
        IDictionary[] globalProperties, IDictionary[] targetOutputsPerProject,
        string[] toolsVersion, bool useResultsCache, bool unloadProjectsOnCompletion) =>
        throw new NotSupportedException();

    public BuildEngineResult BuildProjectFilesInParallel(string[] projectFileNames,
        string[] targetNames, IDictionary[] globalProperties,
        IList<string>[] removeGlobalProperties, string[] toolsVersion,
        bool returnTargetOutputs) =>
        throw new NotSupportedException();

    public void Yield()
    {
    }

    public void Reacquire()
    {
    }
}
