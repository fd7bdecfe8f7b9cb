// Compile-only stand-in for androidx.annotation.WorkerThread (see README.md): same package, name,
// retention and targets as androidx's, so the class files compiled against it are those the real
// annotation gives.
package androidx.annotation

@MustBeDocumented
@Retention(AnnotationRetention.BINARY)
@Target(
    AnnotationTarget.FUNCTION,
    AnnotationTarget.PROPERTY_GETTER,
    AnnotationTarget.PROPERTY_SETTER,
    AnnotationTarget.CONSTRUCTOR,
    AnnotationTarget.ANNOTATION_CLASS,
    AnnotationTarget.CLASS,
    AnnotationTarget.VALUE_PARAMETER,
)
public annotation class WorkerThread
