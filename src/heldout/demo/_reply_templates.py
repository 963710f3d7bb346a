"""Reply-drafting text for the demo project: tickets paired with the support team's replies.

A scenario is one ticket template and two replies the support team could send; an example
uses one or both replies as its references. The vocabulary tables at the end describe how the
two demo models drift from a good reply (see :mod:`heldout.demo._drafts`).
"""

from __future__ import annotations

from typing import Final

__all__ = ["BASE_PADDING", "SCENARIOS", "STAFF", "SYNONYMS", "TUNED_PADDING"]

Scenario = tuple[str, tuple[str, str]]

STAFF: Final[dict[str, tuple[str, ...]]] = {
    "en": ("Sam", "Rachel", "Tom", "Aisha", "Ben", "Nora"),
    "de": ("Jens", "Miriam", "Sabine", "Florian"),
    "es": ("Laura", "Sergio", "Nuria", "Andrés"),
    "fr": ("Claire", "Antoine", "Sarah", "Nicolas"),
}

SCENARIOS: Final[dict[str, dict[str, tuple[Scenario, ...]]]] = {
    "en": {
        "billing": (
            (
                "I was charged twice for my {plan} subscription this month. Can you refund the duplicate charge of {amount}?",
                (
                    "Hi {name}, thank you for letting us know. I checked your account and the {plan} payment of {amount} was indeed taken twice this month. I have refunded the duplicate charge today. Depending on your bank, it will show on your statement within 5 to 7 business days. Sorry for the inconvenience. Best regards, {staff}",
                    "Hello {name}, sorry about the double charge. You were billed {amount} twice for your {plan} subscription, and I have now issued a refund for the second payment. Refunds usually reach your account within 5 to 7 business days. If it has not arrived by then, just reply to this email. Kind regards, {staff}",
                ),
            ),
            (
                "Can I get a copy of invoice {invoice}? Our accounting team needs it with our VAT number on it.",
                (
                    "Hi {name}, thanks for your message. I have added your VAT number to the account and attached a corrected copy of invoice {invoice} to this email. All future invoices will include the VAT number automatically. You can also download every invoice under Settings, Billing, Invoices. Best regards, {staff}",
                    "Hello {name}, of course. Please find invoice {invoice} attached, now with your VAT number on it. From now on the VAT number will be printed on every invoice, and you can download past invoices at any time under Settings, Billing, Invoices. Kind regards, {staff}",
                ),
            ),
        ),
        "bug_report": (
            (
                "The app keeps crashing when I open the live view of my {product}. I'm on {os}, app version {version}.",
                (
                    "Hi {name}, thanks for the details and sorry for the crashes. This is a known issue in version {version} on {os}, and our team has already released a fix. Please update the Tidewell app to the latest version and restart your phone. If the live view of your {product} still crashes after that, reply here and we will look into it further. Best regards, {staff}",
                    "Hello {name}, sorry about the trouble with the live view. Version {version} has a bug that makes the app crash on {os} when it opens the camera stream. A fixed version is available now, so please update the app and restart your phone. If the {product} live view keeps crashing, just reply to this email and we will investigate. Kind regards, {staff}",
                ),
            ),
            (
                "Since the last update my {product} shows as offline in the app even though it's connected to wifi.",
                (
                    "Hi {name}, thanks for reporting this. Some devices lost their connection to our servers after the last update. Please unplug your {product} for 30 seconds and plug it back in, it will reconnect and install a small fix automatically. If it still shows as offline after ten minutes, reply here and we will check it from our side. Best regards, {staff}",
                    "Hello {name}, sorry for the trouble. The last update caused some devices to show as offline even though they are online. To fix it, unplug your {product}, wait 30 seconds and plug it in again. The device will reconnect and install the fix on its own. If the problem is still there after ten minutes, let us know and we will take a closer look. Kind regards, {staff}",
                ),
            ),
        ),
        "feature_request": (
            (
                "Please add {feature}. We'd use it every day.",
                (
                    "Hi {name}, thank you for the suggestion. I have shared your request for {feature} with our product team, and I have added your account to the list of customers who asked for it. We cannot promise a date yet, but we will let you know as soon as it is available. Best regards, {staff}",
                    "Hello {name}, thanks for taking the time to send us your idea. Support for {feature} is already on our list, and every request helps us decide what to build next. I have passed yours on to the product team, and we will email you when it is released. Kind regards, {staff}",
                ),
            ),
            (
                "Can you add support for Apple Home / HomeKit? Right now I need a second app.",
                (
                    "Hi {name}, thanks for asking. HomeKit support is one of the most requested features, and our team is working on it right now. We expect to release it later this year for the Tidewell Hub and the cameras. I have added your account to the early access list, so you will get an email as soon as you can try it. Best regards, {staff}",
                    "Hello {name}, good news: we are building HomeKit support and plan to release it later this year. Until then, you can control your devices with Google Home or Alexa. I have added you to the early access list, and we will email you when it is ready to test. Kind regards, {staff}",
                ),
            ),
        ),
        "account_access": (
            (
                "I'm not receiving the password reset email. I checked spam.",
                (
                    "Hi {name}, sorry you are having trouble signing in. I have sent a new password reset link to the email address on your account. The link is valid for one hour. If it does not arrive within a few minutes, please add our support address to your contacts and try again, or reply here and we will reset the password for you. Best regards, {staff}",
                    "Hello {name}, thanks for checking your spam folder. I have just sent a new password reset email to your account, and the link stays valid for one hour. Some email providers delay our messages, so please wait a few minutes. If nothing arrives, reply to this email and we will help you reset it manually. Kind regards, {staff}",
                ),
            ),
            (
                "I lost my phone and can't get the two-factor code. Please help me get back into my account.",
                (
                    "Hi {name}, sorry to hear about your phone. For your security, we need to confirm that the account is yours before we turn off two-factor login. Please reply with the number of one of your Tidewell orders and the last four digits of the card on file. Once we have verified it, we will disable two-factor login so you can sign in and set it up again. Best regards, {staff}",
                    "Hello {name}, we can help you get back in. Before we switch off two-factor login, we have to make sure the account belongs to you. Please send us one of your order numbers and the last four digits of the card you pay with. As soon as we have checked them, you can sign in with your password and set up two-factor login on your new phone. Kind regards, {staff}",
                ),
            ),
        ),
        "cancellation": (
            (
                "Please cancel my {plan} subscription effective immediately.",
                (
                    "Hi {name}, I have cancelled your {plan} subscription as requested. You will not be charged again, and you can keep using the paid features until the end of the current billing period on {next_date}. Your devices will keep working on the free plan. If you change your mind, you can restart the subscription at any time in the app. Best regards, {staff}",
                    "Hello {name}, your {plan} subscription is now cancelled and no further payments will be taken. The paid features stay active until {next_date}, the end of the period you already paid for. After that your account moves to the free plan. You can subscribe again at any time from the app. Kind regards, {staff}",
                ),
            ),
            (
                "I'd like to cancel order {order} before it ships.",
                (
                    "Hi {name}, I caught order {order} just in time before it left our warehouse and have cancelled it. The full amount of {amount} will be refunded to your original payment method within 5 to 7 business days. You will receive a confirmation email shortly. Best regards, {staff}",
                    "Hello {name}, no problem. Order {order} had not shipped yet, so I have cancelled it and refunded {amount} to your card. The refund usually takes 5 to 7 business days to appear. Let us know if there is anything else we can do for you. Kind regards, {staff}",
                ),
            ),
        ),
        "shipping": (
            (
                "Where is my order {order}? It's been {days} days and tracking hasn't updated.",
                (
                    "Hi {name}, sorry for the wait. I checked with {carrier}, and your order {order} was delayed at their regional sorting center. It is now on its way and should arrive within two business days. You can follow it with the tracking link in your shipping confirmation email. If it has not arrived by then, reply here and we will send a replacement. Best regards, {staff}",
                    "Hello {name}, thanks for your patience. Your order {order} was held up at a {carrier} sorting center, which is why the tracking did not update. It has now been scanned again and should be delivered within two business days. If it does not arrive, let us know and we will ship a replacement right away. Kind regards, {staff}",
                ),
            ),
            (
                "My {product} arrived damaged, the box was crushed. What now?",
                (
                    "Hi {name}, I am sorry your {product} arrived damaged. We will send you a replacement free of charge, and it will ship within one business day. There is no need to return the damaged item. If you can, please reply with a photo of the box so we can report the damage to {carrier}. Best regards, {staff}",
                    "Hello {name}, sorry that your {product} was damaged in transit. I have ordered a free replacement for you, and it will leave our warehouse within one business day. You do not have to send the damaged one back. A photo of the crushed box would help us file a claim with {carrier}, if you have one. Kind regards, {staff}",
                ),
            ),
        ),
        "how_to": (
            (
                "How do I add a second user to my account?",
                (
                    "Hi {name}, thanks for your question. To add a user, open the Tidewell app, go to Settings, Home members, and tap Invite. Enter the email address of the person you want to add and choose whether they can manage devices or only view them. They will receive an invitation email and can join after creating a Tidewell account. Best regards, {staff}",
                    "Hello {name}, you can invite another person from the app. Go to Settings, then Home members, and tap Invite. Type their email address and pick a role: Admin can manage devices, Viewer can only watch. Once they accept the invitation and sign in, they will see your home. Kind regards, {staff}",
                ),
            ),
            (
                "How do I reset the {product} to factory settings?",
                (
                    "Hi {name}, to reset your {product}, press and hold the reset button on the back for ten seconds until the light blinks orange. Then remove the device in the app under Settings, Devices, and add it again as a new device. Please note that a reset removes all schedules and automations for this device. Best regards, {staff}",
                    "Hello {name}, here is how to reset the {product}. Hold the small reset button on the back for ten seconds, until the light starts to blink orange. After that, delete the device in the app under Settings, Devices, and set it up again as a new device. Keep in mind that the reset also deletes its schedules and automations. Kind regards, {staff}",
                ),
            ),
        ),
    },
    "de": {
        "billing": (
            (
                "Mir wurde diesen Monat zweimal {amount} für mein {plan}-Abo abgebucht. Bitte erstatten Sie die doppelte Zahlung.",
                (
                    "Hallo {name}, vielen Dank für Ihre Nachricht. Ich habe Ihr Konto geprüft, und die Zahlung von {amount} für Ihr {plan}-Abo wurde tatsächlich zweimal abgebucht. Die doppelte Zahlung habe ich heute erstattet. Je nach Bank sehen Sie den Betrag in 5 bis 7 Werktagen auf Ihrem Konto. Entschuldigen Sie bitte die Unannehmlichkeiten. Viele Grüße, {staff}",
                    "Guten Tag {name}, entschuldigen Sie die doppelte Abbuchung. Für Ihr {plan}-Abo wurden zweimal {amount} eingezogen, und ich habe die zweite Zahlung soeben zurückerstattet. Die Gutschrift erscheint in der Regel innerhalb von 5 bis 7 Werktagen. Falls nicht, antworten Sie einfach auf diese E-Mail. Freundliche Grüße, {staff}",
                ),
            ),
        ),
        "bug_report": (
            (
                "Seit dem letzten Update wird {product} in der App als offline angezeigt, obwohl das Gerät im WLAN ist.",
                (
                    "Hallo {name}, danke für Ihre Meldung. Nach dem letzten Update haben einige Geräte die Verbindung zu unseren Servern verloren. Bitte ziehen Sie den Stecker von {product} für 30 Sekunden und stecken Sie ihn wieder ein. Das Gerät verbindet sich dann neu und installiert automatisch eine Korrektur. Wird es nach zehn Minuten immer noch als offline angezeigt, melden Sie sich bitte noch einmal. Viele Grüße, {staff}",
                    "Guten Tag {name}, entschuldigen Sie die Umstände. Das letzte Update hat dazu geführt, dass manche Geräte als offline angezeigt werden, obwohl sie online sind. Trennen Sie {product} bitte für 30 Sekunden vom Strom und schließen Sie es dann wieder an. Danach installiert das Gerät die Korrektur von selbst. Besteht das Problem nach zehn Minuten weiter, schauen wir uns das gerne genauer an. Freundliche Grüße, {staff}",
                ),
            ),
        ),
        "feature_request": (
            (
                "Bitte fügen Sie {feature} hinzu, das würden wir täglich nutzen.",
                (
                    "Hallo {name}, vielen Dank für Ihren Vorschlag. Ich habe Ihren Wunsch nach {feature} an unser Produktteam weitergegeben und Ihr Konto auf die Liste der interessierten Kunden gesetzt. Einen Termin können wir noch nicht nennen, aber wir informieren Sie, sobald die Funktion verfügbar ist. Viele Grüße, {staff}",
                    "Guten Tag {name}, danke, dass Sie uns Ihre Idee schicken. Der Wunsch nach {feature} steht bereits auf unserer Liste, und jede Anfrage hilft uns bei der Planung. Ich habe Ihre Nachricht an das Produktteam weitergeleitet, und wir schreiben Ihnen, sobald es so weit ist. Freundliche Grüße, {staff}",
                ),
            ),
        ),
        "account_access": (
            (
                "Die E-Mail zum Zurücksetzen des Passworts kommt nicht an, auch nicht im Spam-Ordner.",
                (
                    "Hallo {name}, entschuldigen Sie die Probleme bei der Anmeldung. Ich habe Ihnen soeben einen neuen Link zum Zurücksetzen des Passworts geschickt. Der Link ist eine Stunde lang gültig. Falls die E-Mail in den nächsten Minuten nicht ankommt, antworten Sie bitte hier, dann setzen wir das Passwort für Sie zurück. Viele Grüße, {staff}",
                    "Guten Tag {name}, danke, dass Sie den Spam-Ordner schon geprüft haben. Ich habe eine neue E-Mail zum Zurücksetzen Ihres Passworts ausgelöst, der Link gilt eine Stunde. Manche Anbieter stellen unsere Nachrichten verzögert zu, bitte warten Sie daher ein paar Minuten. Kommt nichts an, helfen wir Ihnen gerne manuell weiter. Freundliche Grüße, {staff}",
                ),
            ),
        ),
        "cancellation": (
            (
                "Bitte kündigen Sie mein {plan}-Abo zum nächstmöglichen Zeitpunkt.",
                (
                    "Hallo {name}, ich habe Ihr {plan}-Abo wie gewünscht gekündigt. Es wird nichts mehr abgebucht, und Sie können die kostenpflichtigen Funktionen bis zum Ende des laufenden Zeitraums am {next_date} weiter nutzen. Ihre Geräte funktionieren danach mit dem kostenlosen Tarif weiter. Sie können das Abo jederzeit in der App wieder aktivieren. Viele Grüße, {staff}",
                    "Guten Tag {name}, Ihr {plan}-Abo ist gekündigt, weitere Zahlungen fallen nicht an. Die bezahlten Funktionen bleiben bis zum {next_date} aktiv. Danach wechselt Ihr Konto automatisch in den kostenlosen Tarif. Ein neues Abo können Sie jederzeit in der App abschließen. Freundliche Grüße, {staff}",
                ),
            ),
        ),
        "shipping": (
            (
                "Wo bleibt meine Bestellung {order}? Seit {days} Tagen tut sich bei der Sendungsverfolgung nichts.",
                (
                    "Hallo {name}, entschuldigen Sie die Wartezeit. Ich habe bei {carrier} nachgefragt: Ihre Bestellung {order} wurde in einem Verteilzentrum aufgehalten. Sie ist jetzt wieder unterwegs und sollte innerhalb von zwei Werktagen ankommen. Falls nicht, melden Sie sich bitte, dann schicken wir Ihnen Ersatz. Viele Grüße, {staff}",
                    "Guten Tag {name}, danke für Ihre Geduld. Ihre Bestellung {order} hing in einem Verteilzentrum von {carrier} fest, deshalb wurde die Sendungsverfolgung nicht aktualisiert. Das Paket wurde inzwischen wieder gescannt und wird voraussichtlich in zwei Werktagen zugestellt. Kommt es nicht an, senden wir sofort Ersatz. Freundliche Grüße, {staff}",
                ),
            ),
        ),
        "how_to": (
            (
                "Wie füge ich einen zweiten Benutzer zu meinem Konto hinzu?",
                (
                    "Hallo {name}, danke für Ihre Frage. Öffnen Sie die Tidewell-App, gehen Sie zu Einstellungen, Mitglieder, und tippen Sie auf Einladen. Geben Sie die E-Mail-Adresse der Person ein und wählen Sie, ob sie Geräte verwalten oder nur ansehen darf. Die Person erhält dann eine Einladung per E-Mail. Viele Grüße, {staff}",
                    "Guten Tag {name}, weitere Personen laden Sie direkt in der App ein. Gehen Sie zu Einstellungen, dann Mitglieder, und tippen Sie auf Einladen. Tragen Sie die E-Mail-Adresse ein und wählen Sie eine Rolle: Admins verwalten Geräte, Betrachter sehen nur zu. Sobald die Einladung angenommen ist, sieht die Person Ihr Zuhause. Freundliche Grüße, {staff}",
                ),
            ),
        ),
    },
    "es": {
        "billing": (
            (
                "Me han cobrado dos veces la suscripción {plan} este mes. ¿Pueden devolverme el cargo duplicado de {amount}?",
                (
                    "Hola {name}, gracias por avisarnos. He revisado su cuenta y, efectivamente, el pago de {amount} de la suscripción {plan} se cobró dos veces este mes. Hoy mismo he devuelto el cargo duplicado. Según su banco, lo verá en su cuenta en un plazo de 5 a 7 días hábiles. Disculpe las molestias. Un saludo, {staff}",
                    "Buenos días, {name}. Sentimos mucho el cobro doble. Se le cobraron {amount} dos veces por la suscripción {plan}, y ya he devuelto el segundo pago. Los reembolsos suelen llegar en 5 a 7 días hábiles. Si para entonces no lo ve, responda a este correo y lo revisamos. Saludos cordiales, {staff}",
                ),
            ),
        ),
        "bug_report": (
            (
                "La app se cierra cada vez que abro la vista en directo de {product}. Uso {os}, versión {version}.",
                (
                    "Hola {name}, gracias por los detalles y disculpe los cierres. Es un error conocido de la versión {version} en {os}, y nuestro equipo ya ha publicado una corrección. Por favor, actualice la app de Tidewell a la última versión y reinicie el móvil. Si la vista en directo de {product} sigue fallando, responda a este mensaje y lo revisaremos. Un saludo, {staff}",
                    "Buenos días, {name}. Sentimos los problemas con la vista en directo. La versión {version} tiene un fallo que cierra la app en {os} al abrir la cámara. Ya está disponible una versión corregida, así que le recomendamos actualizar la app y reiniciar el móvil. Si el problema continúa, escríbanos y lo investigaremos. Saludos cordiales, {staff}",
                ),
            ),
        ),
        "feature_request": (
            (
                "Por favor, añadan {feature}. Lo usaríamos a diario.",
                (
                    "Hola {name}, muchas gracias por la sugerencia. He trasladado su petición de {feature} a nuestro equipo de producto y he añadido su cuenta a la lista de clientes interesados. Todavía no podemos dar una fecha, pero le avisaremos en cuanto esté disponible. Un saludo, {staff}",
                    "Buenos días, {name}. Gracias por enviarnos su idea. La petición de {feature} ya está en nuestra lista, y cada solicitud nos ayuda a decidir qué hacer primero. He pasado su mensaje al equipo de producto y le escribiremos cuando se publique. Saludos cordiales, {staff}",
                ),
            ),
        ),
        "account_access": (
            (
                "No me llega el correo para restablecer la contraseña, ya miré en spam.",
                (
                    "Hola {name}, lamentamos los problemas para iniciar sesión. Le he enviado un nuevo enlace para restablecer la contraseña a la dirección de su cuenta. El enlace es válido durante una hora. Si no le llega en unos minutos, responda a este mensaje y restableceremos la contraseña por usted. Un saludo, {staff}",
                    "Buenos días, {name}. Gracias por revisar la carpeta de spam. Acabo de enviar un nuevo correo para restablecer su contraseña, y el enlace vale durante una hora. Algunos proveedores retrasan nuestros mensajes, así que espere unos minutos. Si no recibe nada, escríbanos y le ayudaremos a hacerlo manualmente. Saludos cordiales, {staff}",
                ),
            ),
        ),
        "cancellation": (
            (
                "Por favor, cancelen mi suscripción {plan} de inmediato.",
                (
                    "Hola {name}, he cancelado su suscripción {plan} como nos pidió. No se le cobrará nada más, y podrá seguir usando las funciones de pago hasta el final del periodo actual, el {next_date}. Sus dispositivos seguirán funcionando con el plan gratuito. Puede volver a suscribirse cuando quiera desde la app. Un saludo, {staff}",
                    "Buenos días, {name}. Su suscripción {plan} ya está cancelada y no habrá más cobros. Las funciones de pago seguirán activas hasta el {next_date}. Después, su cuenta pasará al plan gratuito. Puede suscribirse de nuevo en cualquier momento desde la app. Saludos cordiales, {staff}",
                ),
            ),
        ),
        "shipping": (
            (
                "¿Dónde está mi pedido {order}? Llevo {days} días y el seguimiento no se actualiza.",
                (
                    "Hola {name}, disculpe la espera. He consultado con {carrier} y su pedido {order} se retrasó en un centro de clasificación. Ya está en camino y debería llegar en dos días hábiles. Si no lo recibe para entonces, responda a este mensaje y le enviaremos otro. Un saludo, {staff}",
                    "Buenos días, {name}. Gracias por su paciencia. Su pedido {order} estuvo parado en un centro de {carrier}, por eso el seguimiento no se actualizaba. El paquete ya se ha vuelto a escanear y se entregará en unos dos días hábiles. Si no llega, avísenos y le mandaremos un reemplazo enseguida. Saludos cordiales, {staff}",
                ),
            ),
        ),
        "how_to": (
            (
                "¿Cómo añado un segundo usuario a mi cuenta?",
                (
                    "Hola {name}, gracias por su pregunta. Abra la app de Tidewell, vaya a Ajustes, Miembros, y pulse Invitar. Escriba el correo de la persona y elija si puede gestionar los dispositivos o solo verlos. Esa persona recibirá una invitación por correo electrónico. Un saludo, {staff}",
                    "Buenos días, {name}. Puede invitar a otra persona desde la app. Vaya a Ajustes, luego a Miembros, y pulse Invitar. Introduzca su correo y elija un rol: el administrador gestiona los dispositivos y el invitado solo los ve. Cuando acepte la invitación, verá su casa en la app. Saludos cordiales, {staff}",
                ),
            ),
        ),
    },
    "fr": {
        "billing": (
            (
                "J'ai été débité deux fois pour mon abonnement {plan} ce mois-ci. Pouvez-vous rembourser le doublon de {amount} ?",
                (
                    "Bonjour {name}, merci de nous avoir prévenus. J'ai vérifié votre compte et le paiement de {amount} pour l'abonnement {plan} a bien été prélevé deux fois ce mois-ci. J'ai remboursé le doublon aujourd'hui. Selon votre banque, le montant apparaîtra sous 5 à 7 jours ouvrés. Veuillez nous excuser pour la gêne occasionnée. Cordialement, {staff}",
                    "Bonjour {name}, désolés pour ce double prélèvement. Vous avez été débité deux fois de {amount} pour votre abonnement {plan}, et je viens de rembourser le second paiement. Le remboursement arrive en général sous 5 à 7 jours ouvrés. S'il n'apparaît pas d'ici là, répondez simplement à cet e-mail. Bien à vous, {staff}",
                ),
            ),
        ),
        "bug_report": (
            (
                "Depuis la dernière mise à jour, mon appareil {product} apparaît hors ligne alors qu'il est connecté au wifi.",
                (
                    "Bonjour {name}, merci pour votre signalement. Depuis la dernière mise à jour, certains appareils ont perdu la connexion avec nos serveurs. Débranchez votre appareil {product} pendant 30 secondes puis rebranchez-le. Il se reconnectera et installera automatiquement un correctif. S'il apparaît toujours hors ligne après dix minutes, répondez à ce message et nous vérifierons de notre côté. Cordialement, {staff}",
                    "Bonjour {name}, désolés pour ce désagrément. La dernière mise à jour fait apparaître certains appareils hors ligne alors qu'ils sont connectés. Pour corriger cela, débranchez {product}, attendez 30 secondes et rebranchez-le. L'appareil installera le correctif tout seul. Si le problème persiste après dix minutes, écrivez-nous et nous regarderons de plus près. Bien à vous, {staff}",
                ),
            ),
        ),
        "feature_request": (
            (
                "Merci d'ajouter {feature}, on s'en servirait tous les jours.",
                (
                    "Bonjour {name}, merci pour votre suggestion. J'ai transmis votre demande concernant {feature} à notre équipe produit et j'ai ajouté votre compte à la liste des clients intéressés. Nous ne pouvons pas encore donner de date, mais nous vous préviendrons dès que ce sera disponible. Cordialement, {staff}",
                    "Bonjour {name}, merci d'avoir pris le temps de nous écrire. La demande concernant {feature} figure déjà sur notre liste, et chaque message nous aide à fixer nos priorités. J'ai transmis le vôtre à l'équipe produit, et nous vous écrirons dès la sortie. Bien à vous, {staff}",
                ),
            ),
        ),
        "account_access": (
            (
                "Je ne reçois pas l'e-mail de réinitialisation du mot de passe, j'ai vérifié les spams.",
                (
                    "Bonjour {name}, désolés pour ces difficultés de connexion. Je vous ai envoyé un nouveau lien de réinitialisation à l'adresse de votre compte. Ce lien est valable une heure. S'il n'arrive pas dans les prochaines minutes, répondez à ce message et nous réinitialiserons le mot de passe pour vous. Cordialement, {staff}",
                    "Bonjour {name}, merci d'avoir vérifié vos spams. Je viens de déclencher un nouvel e-mail de réinitialisation, et le lien reste valable une heure. Certains fournisseurs retardent nos messages, merci donc de patienter quelques minutes. Si rien n'arrive, écrivez-nous et nous vous aiderons à le faire manuellement. Bien à vous, {staff}",
                ),
            ),
        ),
        "cancellation": (
            (
                "Merci de résilier mon abonnement {plan} dès maintenant.",
                (
                    "Bonjour {name}, j'ai résilié votre abonnement {plan} comme demandé. Vous ne serez plus prélevé, et vous pouvez utiliser les fonctions payantes jusqu'à la fin de la période en cours, le {next_date}. Vos appareils continueront de fonctionner avec l'offre gratuite. Vous pouvez vous réabonner à tout moment depuis l'application. Cordialement, {staff}",
                    "Bonjour {name}, votre abonnement {plan} est résilié et aucun autre prélèvement ne sera effectué. Les fonctions payantes restent actives jusqu'au {next_date}. Ensuite, votre compte passera à l'offre gratuite. Vous pouvez vous réabonner quand vous le souhaitez depuis l'application. Bien à vous, {staff}",
                ),
            ),
        ),
        "shipping": (
            (
                "Où en est ma commande {order} ? Ça fait {days} jours que le suivi ne bouge pas.",
                (
                    "Bonjour {name}, désolés pour l'attente. J'ai contacté {carrier} : votre commande {order} a été retardée dans un centre de tri. Elle est de nouveau en route et devrait arriver sous deux jours ouvrés. Si ce n'est pas le cas, répondez à ce message et nous vous enverrons un remplacement. Cordialement, {staff}",
                    "Bonjour {name}, merci pour votre patience. Votre commande {order} était bloquée dans un centre de tri {carrier}, d'où l'absence de mise à jour du suivi. Le colis a été scanné à nouveau et devrait être livré sous deux jours ouvrés. S'il n'arrive pas, prévenez-nous et nous expédierons un remplacement tout de suite. Bien à vous, {staff}",
                ),
            ),
        ),
        "how_to": (
            (
                "Comment ajouter un deuxième utilisateur à mon compte ?",
                (
                    "Bonjour {name}, merci pour votre question. Ouvrez l'application Tidewell, allez dans Réglages, Membres, puis appuyez sur Inviter. Saisissez l'adresse e-mail de la personne et choisissez si elle peut gérer les appareils ou seulement les consulter. Elle recevra alors une invitation par e-mail. Cordialement, {staff}",
                    "Bonjour {name}, vous pouvez inviter une autre personne depuis l'application. Allez dans Réglages, puis Membres, et appuyez sur Inviter. Indiquez son adresse e-mail et choisissez un rôle : l'administrateur gère les appareils, l'invité peut seulement regarder. Dès qu'elle aura accepté l'invitation, elle verra votre maison. Bien à vous, {staff}",
                ),
            ),
        ),
    },
}

#: Word choices a weaker model makes instead of the support team's own words.
SYNONYMS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "thanks": "thank you", "checked": "reviewed", "refunded": "reimbursed",
        "issue": "problem", "today": "now", "usually": "typically", "within": "in",
        "please": "kindly", "update": "upgrade", "arrive": "be delivered",
        "email": "message", "reply": "respond", "account": "profile", "charge": "payment",
        "help": "assist", "now": "currently", "trouble": "problems",
        "investigate": "look into", "added": "included", "available": "ready", "released": "launched",
        "restart": "reboot", "remove": "delete", "device": "unit", "features": "functions",
        "cancelled": "terminated", "open": "launch", "go": "navigate", "tap": "press",
        "choose": "select", "pick": "choose", "shortly": "soon", "team": "staff",
        "request": "ask", "questions": "queries", "question": "query",
        "problem": "issue", "delayed": "late", "receive": "get", "full": "entire",
        "damaged": "broken", "replacement": "new unit",
        "suggestion": "idea", "list": "backlog", "building": "developing",
        "later": "towards the end of", "ready": "available", "link": "URL", "valid": "active",
        "minutes": "mins", "manually": "by hand", "security": "safety", "confirm": "verify",
        "disable": "turn off", "paid": "premium", "period": "cycle", "again": "once more",
        "automatically": "on its own", "attached": "included", "download": "get",
        "invitation": "invite", "role": "permission level", "settings": "preferences",
    },
    "de": {
        "vielen": "herzlichen", "geprüft": "kontrolliert", "erstattet": "zurückgezahlt",
        "heute": "jetzt", "bitte": "gerne", "entschuldigen": "verzeihen", "gerät": "produkt",
        "konto": "profil", "nachricht": "mail", "informieren": "benachrichtigen",
        "funktionen": "features", "einladung": "einladungsmail", "automatisch": "selbstständig",
        "verbindung": "konnektivität", "sofort": "umgehend", "gerne": "natürlich",
        "wunsch": "vorschlag", "liste": "roadmap", "probleme": "schwierigkeiten",
        "gültig": "aktiv", "paket": "päckchen", "aufgehalten": "verzögert", "wählen": "bestimmen",
        "öffnen": "starten", "tippen": "klicken", "zahlung": "transaktion", "gekündigt": "beendet",
        "kostenlosen": "gratis", "jederzeit": "immer", "ersatz": "neuware", "werktagen": "arbeitstagen",
    },
    "es": {
        "gracias": "agradecemos", "revisado": "comprobado", "devuelto": "reembolsado",
        "hoy": "ahora", "disculpe": "perdone", "cuenta": "perfil", "mensaje": "correo",
        "equipo": "personal", "actualice": "instale", "reinicie": "apague y encienda",
        "funciones": "características", "dispositivos": "aparatos", "invitación": "solicitud",
        "petición": "solicitud", "lista": "agenda", "enlace": "vínculo", "válido": "activo",
        "pedido": "envío", "camino": "tránsito", "plazo": "periodo", "enseguida": "pronto",
        "elija": "seleccione", "pulse": "toque", "cancelado": "anulado", "gratuito": "gratis",
        "problema": "inconveniente", "fallo": "error", "corrección": "solución",
    },
    "fr": {
        "merci": "un grand merci", "vérifié": "contrôlé", "remboursé": "restitué",
        "aujourd'hui": "ce jour", "désolés": "navrés", "compte": "profil", "message": "courriel",
        "équipe": "service", "appareil": "produit", "appareils": "produits",
        "fonctions": "fonctionnalités", "invitation": "demande", "demande": "requête",
        "liste": "feuille de route", "lien": "URL", "valable": "actif", "commande": "colis",
        "route": "chemin", "remplacement": "nouvel article", "choisissez": "sélectionnez",
        "appuyez": "cliquez", "résilié": "arrêté", "gratuite": "sans frais", "correctif": "patch",
        "problème": "souci", "automatiquement": "tout seul", "prévenus": "informés",
    },
}  # fmt: skip

#: Generic sentences the base model pads its drafts with.
BASE_PADDING: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "We apologize for any inconvenience this may have caused.",
        "Is there anything else I can help you with?",
        "Your satisfaction is very important to us.",
        "Thank you for being a valued customer.",
    ),
    "de": (
        "Wir bitten vielmals um Entschuldigung.",
        "Kann ich sonst noch etwas für Sie tun?",
        "Ihre Zufriedenheit ist uns sehr wichtig.",
    ),
    "es": (
        "Lamentamos cualquier inconveniente.",
        "¿Hay algo más en lo que pueda ayudarle?",
        "Su satisfacción es muy importante para nosotros.",
    ),
    "fr": (
        "Nous nous excusons pour la gêne occasionnée.",
        "Puis-je vous aider pour autre chose ?",
        "Votre satisfaction est très importante pour nous.",
    ),
}

#: The fine-tune picked up the support team's chat sign-offs.
TUNED_PADDING: Final[dict[str, tuple[str, ...]]] = {
    "en": ("Have a great day!", "Happy to help!"),
    "de": ("Schönen Tag noch!", "Gern geschehen!"),
    "es": ("¡Que tenga un buen día!", "¡Encantados de ayudar!"),
    "fr": ("Bonne journée !", "Avec plaisir !"),
}
