/*
 * virtio-mdev short forms: "-device virtio-mdev-<dev>" for one mdev type
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A backend declares a VirtioMdevShortForm (virtio-mdev-ops.h); this file
 * turns it into a subtype of the virtio-mdev front-end whose class hook
 * names the form, and whose properties are staged here until realize sets
 * them on the new instance (virtio_mdev_transport_realize).  The values
 * are kept as typed QObjects, so the instance's own setter checks them
 * and names the property in its error.
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "hw/virtio/virtio-mdev.h"

static const char *const virtio_mdev_prop_type_names[] = {
    [VIRTIO_MDEV_PROP_BOOL] = "bool",
    [VIRTIO_MDEV_PROP_STR] = "str",
    [VIRTIO_MDEV_PROP_UINT16] = "uint16",
    [VIRTIO_MDEV_PROP_UINT32] = "uint32",
    [VIRTIO_MDEV_PROP_SIZE] = "size",
};

/* Visit a value of @p's type; on input returns it as a new QObject. */
static QObject *virtio_mdev_prop_visit(const VirtioMdevProp *p, Visitor *v,
                                       const char *name, QObject *cur,
                                       Error **errp)
{
    switch (p->type) {
    case VIRTIO_MDEV_PROP_BOOL: {
        bool b = cur ? qbool_get_bool(qobject_to(QBool, cur)) : p->defval.b;

        return visit_type_bool(v, name, &b, errp) ?
               QOBJECT(qbool_from_bool(b)) : NULL;
    }
    case VIRTIO_MDEV_PROP_STR: {
        g_autofree char *s = NULL;

        if (!visit_is_input(v)) {
            s = g_strdup(cur ? qstring_get_str(qobject_to(QString, cur))
                             : p->defval.s ?: "");
        }
        return visit_type_str(v, name, &s, errp) ?
               QOBJECT(qstring_from_str(s)) : NULL;
    }
    default: {
        uint64_t u = cur ? qnum_get_uint(qobject_to(QNum, cur)) : p->defval.u;
        uint16_t u16 = u;
        uint32_t u32 = u;
        bool ok;

        if (p->type == VIRTIO_MDEV_PROP_UINT16) {
            ok = visit_type_uint16(v, name, &u16, errp);
            u = u16;
        } else if (p->type == VIRTIO_MDEV_PROP_UINT32) {
            ok = visit_type_uint32(v, name, &u32, errp);
            u = u32;
        } else {
            ok = visit_type_size(v, name, &u, errp);
        }
        return ok ? QOBJECT(qnum_from_uint(u)) : NULL;
    }
    }
}

static void virtio_mdev_form_get(Object *obj, Visitor *v, const char *name,
                                 void *opaque, Error **errp)
{
    VirtioMdevTransport *t = virtio_mdev_transport_of(obj);
    QObject *cur = t->form_props ? qdict_get(t->form_props, name) : NULL;

    qobject_unref(virtio_mdev_prop_visit(opaque, v, name, cur, errp));
}

static void virtio_mdev_form_set(Object *obj, Visitor *v, const char *name,
                                 void *opaque, Error **errp)
{
    VirtioMdevTransport *t = virtio_mdev_transport_of(obj);
    QObject *val;

    if (DEVICE(obj)->realized) {
        error_setg(errp, "property '%s' can only be set before the device "
                   "is realized (the instance's own '%s' may be settable: "
                   "see qom-list on %s)", name, name,
                   t->mdev ? object_get_canonical_path(OBJECT(t->mdev))
                           : "the instance");
        return;
    }
    val = virtio_mdev_prop_visit(opaque, v, name, NULL, errp);
    if (!val) {
        return;
    }
    if (!t->form_props) {
        t->form_props = qdict_new();
    }
    qdict_put_obj(t->form_props, name, val);
}

static void virtio_mdev_form_class_init(ObjectClass *oc, void *data)
{
    const VirtioMdevShortForm *form = data;
    DeviceClass *dc = DEVICE_CLASS(oc);
    const VirtioMdevProp *p;

    VIRTIO_MDEV_FRONTEND_CLASS(oc)->form = form;
    dc->desc = form->desc;
    bitmap_zero(dc->categories, DEVICE_CATEGORY_MAX);
    set_bit(form->category, dc->categories);
    for (p = form->props; p && p->name; p++) {
        ObjectProperty *op = object_class_property_add(oc, p->name,
            virtio_mdev_prop_type_names[p->type], virtio_mdev_form_get,
            virtio_mdev_form_set, NULL, (void *)p);

        object_class_property_set_description(oc, p->name, p->description);
        if (!p->has_default) {
            continue;
        }
        if (p->type == VIRTIO_MDEV_PROP_BOOL) {
            object_property_set_default_bool(op, p->defval.b);
        } else if (p->type == VIRTIO_MDEV_PROP_STR) {
            object_property_set_default_str(op, p->defval.s);
        } else {
            object_property_set_default_uint(op, p->defval.u);
        }
    }
}

static void virtio_mdev_form_finalize(Object *obj)
{
    VirtioMdevTransport *t = virtio_mdev_transport_of(obj);

    qobject_unref(t->form_props);
    t->form_props = NULL;
}

void virtio_mdev_register_short_form(const VirtioMdevShortForm *form)
{
    const TypeInfo info = {
        .name = form->name,
        .parent = TYPE_VIRTIO_MDEV,
        .instance_finalize = virtio_mdev_form_finalize,
        .class_init = virtio_mdev_form_class_init,
        .class_data = (void *)form,
    };

    type_register_static(&info);
}
