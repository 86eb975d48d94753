using System.Runtime.CompilerServices;
using System.Runtime.Loader;

// Arguments: the folders MSBuild's assemblies were loaded from in the build. They are not
// shipped with the package, so the host takes the build's own.
AssemblyLoadContext.Default.Resolving += (context, name) => args
    .Select(folder => Path.Combine(folder, name.Name + ".dll"))
    .Where(File.Exists)
    .Select(context.LoadFromAssemblyPath)
    .FirstOrDefault();

return Serve();

// Kept out of line, so that the task assembly's types, and MSBuild's with them, are loaded
// only once the resolver above is in place. Everything a task writes to the console goes to
// standard error; standard output carries only the host's event lines.
[MethodImpl(MethodImplOptions.NoInlining)]
static int Serve()
{
    var events = Console.Out;
    Console.SetOut(Console.Error);
    return DockerToVms.Tasks.Execution.TaskHostServer.Serve(Console.In, events);
}
