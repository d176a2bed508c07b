/*
 * Unit tests of the mdev core with a test parent whose create() misbehaves
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "qom/object_interfaces.h"
#include "hw/vfio/mdev.h"

#define TYPE_TEST_PARENT "test-mdev-parent"
#define TYPE_TEST_DEVICE "test-mdev-device"

static const int test_virtio_ops = 1;   /* stands for an ops table */
static unsigned test_instances_alive;

static const MdevType test_types[] = {
    { .group = "good", .name = "good", .description = "sets its class once",
      .device_api = "virtio-mdev", .class_id = MDEV_CLASS_VIRTIO },
    { .group = "noclass", .name = "noclass", .description = "sets none",
      .device_api = "virtio-mdev", .class_id = MDEV_CLASS_VIRTIO },
    { .group = "twice", .name = "twice", .description = "sets it twice",
      .device_api = "virtio-mdev", .class_id = MDEV_CLASS_VIRTIO },
    { .group = "vhost", .name = "vhost", .description = "class vhost",
      .device_api = "vhost-mdev", .class_id = MDEV_CLASS_VHOST },
    { .group = "fail", .name = "fail", .description = "create fails",
      .device_api = "virtio-mdev", .class_id = MDEV_CLASS_VIRTIO },
    { .group = "one", .name = "one", .description = "one instance at most",
      .device_api = "virtio-mdev", .class_id = MDEV_CLASS_VIRTIO,
      .max_instances = 1 },
    { }
};

static const MdevClassIdTable virtio_only[] = {
    { MDEV_CLASS_VIRTIO },
    { MDEV_CLASS_NONE },
};

static MdevDevice *test_create(MdevParent *parent, const MdevType *type,
                               Error **errp)
{
    MdevDevice *mdev;

    if (!strcmp(type->group, "fail")) {
        error_setg(errp, "test parent refuses");
        return NULL;
    }
    mdev = MDEV_DEVICE(object_new(TYPE_TEST_DEVICE));
    if (strcmp(type->group, "noclass")) {
        mdev_set_class(mdev, type->class_id, &test_virtio_ops);
    }
    if (!strcmp(type->group, "twice")) {
        mdev_set_class(mdev, MDEV_CLASS_VFIO, NULL);
    }
    return mdev;
}

static void test_device_init(Object *obj)
{
    test_instances_alive++;
}

static void test_device_finalize(Object *obj)
{
    test_instances_alive--;
}

static void test_parent_class_init(ObjectClass *oc, void *data)
{
    MdevParentClass *pc = MDEV_PARENT_CLASS(oc);

    pc->kind = "test";
    pc->types = test_types;
    pc->create = test_create;
}

static const TypeInfo test_types_info[] = {
    {
        .name = TYPE_TEST_PARENT,
        .parent = TYPE_MDEV_PARENT,
        .instance_size = sizeof(MdevParent),
        .class_init = test_parent_class_init,
    },
    {
        .name = TYPE_TEST_DEVICE,
        .parent = TYPE_MDEV_DEVICE,
        .instance_size = sizeof(MdevDevice),
        .instance_init = test_device_init,
        .instance_finalize = test_device_finalize,
    },
};

static Object *transport;

static MdevParent *new_parent(const char *id, const char *max)
{
    Object *obj = object_new_with_props(TYPE_TEST_PARENT,
                                        object_get_objects_root(), id,
                                        &error_abort, "max-instances", max,
                                        NULL);

    return MDEV_PARENT(obj);
}

static MdevDevice *create(MdevParent *p, const char *type, const char *uuid,
                          Error **errp)
{
    return mdev_create_and_bind(p, type, uuid, transport, virtio_only, errp);
}

static void expect_error(MdevParent *p, const char *type, const char *uuid,
                         const char *msg)
{
    unsigned alive = test_instances_alive;
    unsigned avail = mdev_available_instances(p, &test_types[0]);
    Error *err = NULL;

    g_assert_null(create(p, type, uuid, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), msg));
    error_free(err);
    /* Nothing left behind: no live object, no instance counted. */
    g_assert_cmpuint(test_instances_alive, ==, alive);
    g_assert_cmpuint(mdev_available_instances(p, &test_types[0]), ==, avail);
}

static void test_create_errors(void)
{
    MdevParent *p = new_parent("p-errors", "2");

    expect_error(p, "test-noclass", NULL, "did not set a class");
    expect_error(p, "test-twice", NULL, "set the class more than once");
    expect_error(p, "test-vhost", NULL,
                 "has class vhost (3), but 'container' binds only class "
                 "virtio (2)");
    expect_error(p, "test-fail", NULL, "test parent refuses");
    expect_error(p, "test-nope", NULL, "is not a type of mdev-parent");
    expect_error(p, "test-good", "1234", "is not a UUID");
    object_unparent(OBJECT(p));
}

static void test_lifecycle(void)
{
    MdevParent *p = new_parent("p-life", "2");
    const char *u = "6b2e6a1c-1b2c-4d1e-9a51-0e3f00000042";
    MdevDevice *a, *b;
    Error *err = NULL;
    UserCreatableClass *ucc = USER_CREATABLE_GET_CLASS(p);

    g_assert_cmpuint(mdev_available_instances(p, &test_types[0]), ==, 2);
    a = create(p, "test-good", u, &error_abort);
    g_assert_cmpstr(a->uuid_str, ==, u);
    g_assert_cmpint(a->class_id, ==, MDEV_CLASS_VIRTIO);
    g_assert_true(a->class_ops == &test_virtio_ops);
    g_assert_true(a->transport == transport);
    g_assert_true(object_resolve_path_component(OBJECT(p), u) == OBJECT(a));
    /* The limit is shared by all types of the parent. */
    g_assert_cmpuint(mdev_available_instances(p, &test_types[3]), ==, 1);
    expect_error(p, "test-good", u, "already exists");

    b = create(p, "test-good", "auto", &error_abort);
    g_assert_cmpuint(strlen(b->uuid_str), ==, 36);
    g_assert_cmpstr(b->uuid_str, !=, u);
    g_assert_cmpuint(mdev_available_instances(p, &test_types[0]), ==, 0);
    g_assert_null(create(p, "test-good", NULL, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "no instances left"));
    error_free(err);

    /* A parent with live instances cannot be deleted. */
    g_assert_false(ucc->can_be_deleted(USER_CREATABLE(p)));
    mdev_destroy(a);
    mdev_destroy(b);
    g_assert_cmpuint(test_instances_alive, ==, 0);
    g_assert_cmpuint(mdev_available_instances(p, &test_types[0]), ==, 2);
    g_assert_true(ucc->can_be_deleted(USER_CREATABLE(p)));
    object_unparent(OBJECT(p));
}

static void test_parent_find(void)
{
    MdevParent *p = new_parent("p-find", "1");
    Error *err = NULL;

    g_assert_true(mdev_parent_find("p-find", NULL, &error_abort) == p);
    g_assert_null(mdev_parent_find("p-missing", NULL, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "not found"));
    error_free(err);
    /* With a kind, a missing parent is created. */
    g_assert_nonnull(mdev_parent_find("p-made", TYPE_TEST_PARENT,
                                      &error_abort));
    g_assert_nonnull(object_resolve_path_component(object_get_objects_root(),
                                                   "p-made"));
    object_unparent(object_resolve_path_component(object_get_objects_root(),
                                                  "p-made"));
    object_unparent(OBJECT(p));
}

/* A type's own limit applies under the parent's. */
static void test_type_limit(void)
{
    MdevParent *p = new_parent("p-limit", "3");
    const MdevType *one = &test_types[5], *good = &test_types[0];
    MdevDevice *a, *b;

    g_assert_cmpuint(mdev_available_instances(p, one), ==, 1);
    g_assert_cmpuint(mdev_available_instances(p, good), ==, 3);
    a = create(p, "test-one", NULL, &error_abort);
    g_assert_cmpuint(mdev_available_instances(p, one), ==, 0);
    g_assert_cmpuint(mdev_available_instances(p, good), ==, 2);
    expect_error(p, "test-one", NULL, "no instances left");
    b = create(p, "test-good", NULL, &error_abort);
    g_assert_cmpuint(mdev_available_instances(p, good), ==, 1);
    mdev_destroy(a);
    g_assert_cmpuint(mdev_available_instances(p, one), ==, 1);
    mdev_destroy(b);
    object_unparent(OBJECT(p));
}

static void test_class_names(void)
{
    /* The QAPI enum's values are the class ids of the 2019 series. */
    g_assert_cmpint(MDEV_CLASS_NONE, ==, 0);
    g_assert_cmpint(MDEV_CLASS_VFIO, ==, 1);
    g_assert_cmpint(MDEV_CLASS_VIRTIO, ==, 2);
    g_assert_cmpint(MDEV_CLASS_VHOST, ==, 3);
    g_assert_cmpstr(MdevClass_str(MDEV_CLASS_VFIO), ==, "vfio");
    g_assert_cmpstr(MdevClass_str(MDEV_CLASS_VIRTIO), ==, "virtio");
    g_assert_cmpstr(MdevClass_str(MDEV_CLASS_VHOST), ==, "vhost");
    g_assert_cmpstr(MdevClass_str(MDEV_CLASS_NONE), ==, "none");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    module_call_init(MODULE_INIT_QOM);
    type_register_static_array(test_types_info,
                               ARRAY_SIZE(test_types_info));
    transport = object_new(TYPE_CONTAINER);
    object_property_add_child(object_get_root(), "transport", transport);
    g_test_add_func("/mdev/class-names", test_class_names);
    g_test_add_func("/mdev/create-errors", test_create_errors);
    g_test_add_func("/mdev/lifecycle", test_lifecycle);
    g_test_add_func("/mdev/parent-find", test_parent_find);
    g_test_add_func("/mdev/type-limit", test_type_limit);
    return g_test_run();
}
