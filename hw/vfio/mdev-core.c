/*
 * Mediated device core: parents, types, class ids and instances
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * See include/hw/vfio/mdev.h.  Instances are QOM children of their parent
 * named by UUID, with read-only properties (uuid, type, class, transport),
 * so they can be inspected with qom-list/qom-get under
 * /objects/<parent-id>/<uuid>.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/error-report.h"
#include "qemu/module.h"
#include "qom/object_interfaces.h"
#include "hw/vfio/mdev.h"
#include "trace.h"

#define MDEV_DEFAULT_MAX_INSTANCES 4

char *mdev_type_id(MdevParent *parent, const MdevType *type)
{
    return g_strdup_printf("%s-%s", MDEV_PARENT_GET_CLASS(parent)->kind,
                           type->group);
}

static unsigned mdev_count_instances(MdevParent *parent,
                                     const MdevType *type)
{
    MdevDevice *mdev;
    unsigned n = 0;

    QTAILQ_FOREACH(mdev, &parent->instances, next) {
        if (!type || mdev->type == type) {
            n++;
        }
    }
    return n;
}

unsigned mdev_available_instances(MdevParent *parent, const MdevType *type)
{
    unsigned used = mdev_count_instances(parent, NULL);
    unsigned left = used < parent->max_instances ?
                    parent->max_instances - used : 0;

    if (type->max_instances) {
        unsigned own = mdev_count_instances(parent, type);

        left = MIN(left, own < type->max_instances ?
                         type->max_instances - own : 0);
    }
    return left;
}

void mdev_set_class(MdevDevice *mdev, MdevClass id, const void *ops)
{
    if (mdev->class_set_count++) {
        warn_report("mdev %s: class set twice (%s, then %s)",
                    mdev->type ? mdev->type->group : "?",
                    MdevClass_str(mdev->class_id),
                    MdevClass_str(id));
        return;
    }
    mdev->class_id = id;
    mdev->class_ops = ops;
}

static const MdevType *mdev_find_type(MdevParent *parent, const char *type_id)
{
    const MdevType *t;

    for (t = MDEV_PARENT_GET_CLASS(parent)->types; t && t->group; t++) {
        g_autofree char *id = mdev_type_id(parent, t);

        if (!strcmp(id, type_id)) {
            return t;
        }
    }
    return NULL;
}

static char *mdev_type_list(MdevParent *parent)
{
    GString *s = g_string_new(NULL);
    const MdevType *t;

    for (t = MDEV_PARENT_GET_CLASS(parent)->types; t && t->group; t++) {
        g_autofree char *id = mdev_type_id(parent, t);

        g_string_append_printf(s, "%s'%s'", s->len ? ", " : "", id);
    }
    return g_string_free(s, false);
}

static char *mdev_class_list(const MdevClassIdTable *ids)
{
    GString *s = g_string_new(NULL);

    for (; ids->class_id != MDEV_CLASS_NONE; ids++) {
        g_string_append_printf(s, "%s%s (%d)", s->len ? ", " : "",
                               MdevClass_str(ids->class_id),
                               ids->class_id);
    }
    return g_string_free(s, false);
}

static bool mdev_class_in_table(const MdevClassIdTable *ids, MdevClass id)
{
    for (; ids->class_id != MDEV_CLASS_NONE; ids++) {
        if (ids->class_id == id) {
            return true;
        }
    }
    return false;
}

typedef struct MdevUuidSearch {
    const QemuUUID *uuid;
    MdevDevice *found;
} MdevUuidSearch;

static int mdev_find_uuid_in(Object *child, void *opaque)
{
    MdevUuidSearch *search = opaque;
    MdevParent *parent = (MdevParent *)object_dynamic_cast(child,
                                                           TYPE_MDEV_PARENT);
    MdevDevice *mdev;

    if (!parent) {
        return 0;
    }
    QTAILQ_FOREACH(mdev, &parent->instances, next) {
        if (qemu_uuid_is_equal(&mdev->uuid, search->uuid)) {
            search->found = mdev;
            return 1;
        }
    }
    return 0;
}

/* The instance with @uuid among every parent's, or NULL. */
static MdevDevice *mdev_find_uuid(const QemuUUID *uuid)
{
    MdevUuidSearch search = { .uuid = uuid };

    object_child_foreach(object_get_objects_root(), mdev_find_uuid_in,
                         &search);
    return search.found;
}

/* The QOM types of every concrete parent kind, for messages. */
static char *mdev_parent_kinds(void)
{
    GSList *list = object_class_get_list_sorted(TYPE_MDEV_PARENT, false);
    GString *s = g_string_new(NULL);

    for (GSList *l = list; l; l = l->next) {
        g_string_append_printf(s, "%s%s", s->len ? ", " : "",
                               object_class_get_name(l->data));
    }
    g_slist_free(list);
    return g_string_free(s, false);
}

MdevParent *mdev_parent_find(const char *parent_id, const char *create_kind,
                             Error **errp)
{
    Object *obj = object_resolve_path_component(object_get_objects_root(),
                                                parent_id);

    if (!obj && create_kind) {
        obj = object_new_with_props(create_kind, object_get_objects_root(),
                                    parent_id, errp, NULL);
        if (!obj) {
            return NULL;
        }
    }
    if (!obj) {
        g_autofree char *kinds = mdev_parent_kinds();

        error_setg(errp, "mdev-parent '%s' not found: create it with "
                   "-object <kind>,id=%s", parent_id, parent_id);
        error_append_hint(errp, "Parent kinds: %s\n", kinds);
        return NULL;
    }
    if (!object_dynamic_cast(obj, TYPE_MDEV_PARENT)) {
        error_setg(errp, "mdev-parent '%s' is a '%s', not an mdev parent",
                   parent_id, object_get_typename(obj));
        return NULL;
    }
    return MDEV_PARENT(obj);
}

MdevDevice *mdev_create_and_bind(MdevParent *parent, const char *type_id,
                                 const char *uuid_str, Object *transport,
                                 const MdevClassIdTable *ids, Error **errp)
{
    ERRP_GUARD();
    MdevParentClass *pc = MDEV_PARENT_GET_CLASS(parent);
    const char *parent_id = object_get_canonical_path_component(OBJECT(parent));
    const MdevType *type = mdev_find_type(parent, type_id);
    MdevDevice *mdev;
    QemuUUID uuid;

    if (!type) {
        g_autofree char *valid = mdev_type_list(parent);

        error_setg(errp, "mdev-type '%s' is not a type of mdev-parent '%s'",
                   type_id, parent_id);
        error_append_hint(errp, "Valid types: %s\n", valid);
        return NULL;
    }
    if (!mdev_available_instances(parent, type)) {
        error_setg(errp, "mdev-parent '%s' has no instances left for type "
                   "'%s' (max-instances=%u)", parent_id, type_id,
                   parent->max_instances);
        return NULL;
    }
    if (!uuid_str || !strcmp(uuid_str, "auto")) {
        qemu_uuid_generate(&uuid);
    } else if (qemu_uuid_parse(uuid_str, &uuid) < 0) {
        error_setg(errp, "property 'uuid': '%s' is not a UUID "
                   "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, or 'auto')",
                   uuid_str);
        return NULL;
    } else if (mdev_find_uuid(&uuid)) {
        error_setg(errp, "property 'uuid': an mdev instance with UUID %s "
                   "already exists", uuid_str);
        return NULL;
    }

    mdev = pc->create(parent, type, errp);
    if (!mdev) {
        return NULL;
    }
    mdev->parent = parent;
    mdev->type = type;
    mdev->uuid = uuid;
    mdev->uuid_str = qemu_uuid_unparse_strdup(&uuid);
    if (mdev->class_set_count != 1) {
        error_setg(errp, "mdev type '%s': the parent's create %s", type_id,
                   mdev->class_set_count ? "set the class more than once"
                                         : "did not set a class");
        object_unref(OBJECT(mdev));
        return NULL;
    }
    if (!mdev_class_in_table(ids, mdev->class_id)) {
        g_autofree char *accepted = mdev_class_list(ids);

        error_setg(errp, "mdev type '%s' has class %s (%d), but '%s' binds "
                   "only class %s", type_id,
                   MdevClass_str(mdev->class_id), mdev->class_id,
                   object_get_typename(transport), accepted);
        object_unref(OBJECT(mdev));
        return NULL;
    }
    object_property_add_child(OBJECT(parent), mdev->uuid_str, OBJECT(mdev));
    object_unref(OBJECT(mdev));
    mdev->transport = transport;
    QTAILQ_INSERT_TAIL(&parent->instances, mdev, next);
    trace_mdev_create(parent_id, type_id, mdev->uuid_str);
    return mdev;
}

void mdev_destroy(MdevDevice *mdev)
{
    MdevParent *parent = mdev->parent;

    trace_mdev_destroy(mdev->uuid_str);
    QTAILQ_REMOVE(&parent->instances, mdev, next);
    mdev->transport = NULL;
    object_unparent(OBJECT(mdev));
}

/* Parent object */

static void mdev_parent_get_max_instances(Object *obj, Visitor *v,
                                          const char *name, void *opaque,
                                          Error **errp)
{
    visit_type_uint32(v, name, &MDEV_PARENT(obj)->max_instances, errp);
}

static void mdev_parent_set_max_instances(Object *obj, Visitor *v,
                                          const char *name, void *opaque,
                                          Error **errp)
{
    MdevParent *parent = MDEV_PARENT(obj);
    uint32_t val;

    if (!visit_type_uint32(v, name, &val, errp)) {
        return;
    }
    if (val < 1 || val > 64) {
        error_setg(errp, "property 'max-instances': %u is not in 1..64", val);
        return;
    }
    if (val < mdev_count_instances(parent, NULL)) {
        error_setg(errp, "property 'max-instances': %u is below the %u "
                   "live instances", val, mdev_count_instances(parent, NULL));
        return;
    }
    parent->max_instances = val;
}

static bool mdev_parent_can_be_deleted(UserCreatable *uc)
{
    MdevParent *parent = MDEV_PARENT(uc);

    if (!QTAILQ_EMPTY(&parent->instances)) {
        error_report("mdev parent '%s' has %u live instances: remove their "
                     "devices first",
                     object_get_canonical_path_component(OBJECT(uc)),
                     mdev_count_instances(parent, NULL));
        return false;
    }
    return true;
}

static void mdev_parent_instance_init(Object *obj)
{
    MdevParent *parent = MDEV_PARENT(obj);

    parent->max_instances = MDEV_DEFAULT_MAX_INSTANCES;
    QTAILQ_INIT(&parent->instances);
}

static void mdev_parent_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->can_be_deleted = mdev_parent_can_be_deleted;
    object_class_property_add(oc, "max-instances", "uint32",
                              mdev_parent_get_max_instances,
                              mdev_parent_set_max_instances, NULL, NULL);
    object_class_property_set_description(oc, "max-instances",
        "Instances this parent can create, over all its types (1..64)");
}

/* Instance object: read-only introspection properties */

static char *mdev_get_uuid(Object *obj, Error **errp)
{
    return g_strdup(MDEV_DEVICE(obj)->uuid_str);
}

static char *mdev_get_type(Object *obj, Error **errp)
{
    MdevDevice *mdev = MDEV_DEVICE(obj);

    return mdev->type ? mdev_type_id(mdev->parent, mdev->type) : g_strdup("");
}

static char *mdev_get_class(Object *obj, Error **errp)
{
    return g_strdup(MdevClass_str(MDEV_DEVICE(obj)->class_id));
}

static char *mdev_get_transport(Object *obj, Error **errp)
{
    MdevDevice *mdev = MDEV_DEVICE(obj);

    return mdev->transport ? object_get_canonical_path(mdev->transport)
                           : g_strdup("");
}

static void mdev_device_finalize(Object *obj)
{
    g_free(MDEV_DEVICE(obj)->uuid_str);
}

static void mdev_device_class_init(ObjectClass *oc, void *data)
{
    object_class_property_add_str(oc, "uuid", mdev_get_uuid, NULL);
    object_class_property_add_str(oc, "mdev-type", mdev_get_type, NULL);
    object_class_property_add_str(oc, "class", mdev_get_class, NULL);
    object_class_property_add_str(oc, "transport", mdev_get_transport, NULL);
}

static const TypeInfo mdev_types[] = {
    {
        .name = TYPE_MDEV_PARENT,
        .parent = TYPE_OBJECT,
        .abstract = true,
        .instance_size = sizeof(MdevParent),
        .instance_init = mdev_parent_instance_init,
        .class_size = sizeof(MdevParentClass),
        .class_init = mdev_parent_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_USER_CREATABLE },
            { }
        },
    },
    {
        .name = TYPE_MDEV_DEVICE,
        .parent = TYPE_OBJECT,
        .abstract = true,
        .instance_size = sizeof(MdevDevice),
        .instance_finalize = mdev_device_finalize,
        .class_size = sizeof(MdevDeviceClass),
        .class_init = mdev_device_class_init,
    },
};

DEFINE_TYPES(mdev_types)
